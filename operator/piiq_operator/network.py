"""Optional NetworkPolicies (``spec.networkPolicy.enabled``): each component talks only to
what it needs.

- workers: no inbound traffic (the metrics port only from ``metricsFrom``); out to DNS,
  the database and HTTPS (Slack's API and file downloads: Slack publishes no fixed
  addresses, so port 443 to anywhere);
- the ingress: in only on its port (HTTP mode; from ``ingressFrom``, default anywhere:
  Slack comes through your ingress controller or load balancer) and the metrics port from
  ``metricsFrom``; out to DNS and the database, plus HTTPS in Socket Mode (the WebSocket);
- the install pages (``spec.slack.oauth``): in on their port (from ``ingressFrom``: the
  admins' browsers come through the same ingress controller) and the metrics port; out to
  DNS, the database and HTTPS (the code exchange with slack.com);
- maintenance: nothing in; out to DNS and the database only.

Kubelet probes come from the node and are not subject to NetworkPolicies in the common
CNIs. The policies select pods by the PIIQueue's instance and component labels.
"""

from __future__ import annotations

from typing import Any

from .meta import COMPONENT, INGRESS_PORT, INSTANCE, METRICS_PORT, Manifest, Owner, metadata
from .spec import PIIQueueSpec

HTTPS_PORT = 443
ANYWHERE = [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]


def _port(port: int, protocol: str = "TCP") -> dict[str, Any]:
    return {"port": port, "protocol": protocol}


def _rule(ports: list[dict[str, Any]], peers: list[dict[str, Any]], side: str) -> Manifest:
    """One ingress (``from``) or egress (``to``) rule; no peers means any peer."""
    rule: Manifest = {"ports": ports}
    if peers:
        rule[side] = [dict(p) for p in peers]
    return rule


def _egress(spec: PIIQueueSpec, https: bool) -> list[Manifest]:
    policy = spec.network_policy
    rules = [
        _rule([_port(53, "UDP"), _port(53)], [], "to"),  # DNS, wherever the resolver is
        _rule([_port(policy.database_port)], list(policy.database_to), "to"),
    ]
    if https:
        rules.append(_rule([_port(HTTPS_PORT)], ANYWHERE, "to"))
    return rules


def _metrics(spec: PIIQueueSpec) -> list[Manifest]:
    peers = spec.network_policy.metrics_from
    return [_rule([_port(METRICS_PORT)], list(peers), "from")] if peers else []


def _policy(
    owner: Owner, component: str, name: str, ingress: list[Manifest], egress: list[Manifest]
) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(owner, name, component),
        "spec": {
            "podSelector": {"matchLabels": {INSTANCE: owner.name, COMPONENT: component}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def network_policies(spec: PIIQueueSpec, owner: Owner, *, ingress_http: bool) -> list[Manifest]:
    """The policies of the enabled components (none unless ``networkPolicy.enabled``)."""
    if not spec.network_policy.enabled:
        return []
    result = [
        _policy(owner, "worker", f"{owner.name}-workers", _metrics(spec), _egress(spec, True))
    ]
    if spec.maintenance.enabled:
        name = f"{owner.name}-maintenance"
        result.append(_policy(owner, "maintenance", name, [], _egress(spec, False)))
    if spec.ingress.enabled:
        inbound = _metrics(spec)
        if ingress_http:
            inbound.insert(0, _served(spec))
        egress = _egress(spec, https=not ingress_http)
        result.append(_policy(owner, "ingress", f"{owner.name}-ingress", inbound, egress))
    if spec.slack.oauth is not None:
        inbound = [_served(spec), *_metrics(spec)]
        result.append(
            _policy(owner, "install", f"{owner.name}-install", inbound, _egress(spec, True))
        )
    return result


def _served(spec: PIIQueueSpec) -> Manifest:
    """Inbound HTTP on the ingress port, from ``ingressFrom`` (anyone when empty)."""
    return _rule([_port(INGRESS_PORT)], list(spec.network_policy.ingress_from), "from")
