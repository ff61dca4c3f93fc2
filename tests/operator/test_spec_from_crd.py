"""The CRD is the one source of the spec: the operator validates against its schema, takes
its defaults, reads every field it declares and checks every CEL rule it has."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

import piiq_operator
from piiq_operator import crd
from piiq_operator.manifests import Owner, Transport, children
from piiq_operator.schema import at, unknown_keywords
from piiq_operator.schema import children as sub_schemas
from piiq_operator.sizing import plan
from piiq_operator.spec import HINTS, SpecError, parse_spec
from tests.operator.operator_helpers import CRD_PATH, piiqueue

OWNER = Owner("pii", "prod", "0b5e8a4e-0000-4000-8000-000000000001")
PEER_A = {"podSelector": {"app": "a"}, "namespaceSelector": {"ns": "a"}, "ipBlock": {"cidr": "10.0.0.0/8"}}  # fmt: skip
PEER_B = {"podSelector": {"app": "b"}, "namespaceSelector": {"ns": "b"}, "ipBlock": {"cidr": "10.1.0.0/16"}}  # fmt: skip
# Two specs setting every field of the CRD, each leaf different: any mix of them is valid.
FULL_A: dict[str, Any] = {
    "queues": {"events": 20, "default": 10},
    "cron": [{"expression": "*/5 * * * *", "worker": "a.Report", "queue": "events",
              "args": {"k": 1}, "priority": 1, "name": "report"}],
    "concurrencyPerPod": 5,
    "image": "registry.test/piiq:0.1.0",
    "imagePullPolicy": "Always",
    "queuePrefix": "public",
    "database": {"secretRef": {"name": "db", "key": "url"}},
    "slack": {"secretRef": {"name": "slack"}, "exemptChannels": ["C0A"], "adminChannel": "C0ADM",
              "oauth": {"secretRef": {"name": "oauth"}, "scopes": ["chat:write"],
                        "userScopes": ["files:write"], "replicas": 1,
                        "redirectUri": "https://a.test/slack/oauth_redirect"}},
    "pruner": {"maxAge": "7d"},
    "lifeline": {"rescueAfter": "30m"},
    "maintenance": {"enabled": True, "schedule": "*/5 * * * *",
                    "resources": {"limits": {"cpu": 1}, "requests": {"cpu": "100m"}}},
    "ingress": {"enabled": True, "replicas": 2, "service": {"type": "ClusterIP", "port": 80},
                "resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "512Mi"}}},
    "autoscaling": {"enabled": True, "targetBacklogPerPod": 50, "scaleDownDelay": "5m",
                    "queues": {"events": {"minReplicas": 1, "maxReplicas": 4,
                                          "targetBacklogPerPod": 10}}},
    "resources": {"limits": {"cpu": 2}, "requests": {"cpu": 1}},
    "nodeSelector": {"disk": "ssd"},
    "tolerations": [{"key": "a", "operator": "Equal", "value": "x", "effect": "NoSchedule",
                     "tolerationSeconds": 30}],
    "disruptionBudget": {"enabled": True, "maxUnavailable": 1},
    "networkPolicy": {"enabled": True, "database": {"port": 5432, "to": [PEER_A]},
                      "ingressFrom": [PEER_A], "metricsFrom": [PEER_A]},
    "imagePullSecrets": [{"name": "pull"}],
    "podAnnotations": {"a": "1"},
    "podLabels": {"team": "a"},
    "affinity": {"nodeAffinity": {"a": 1}},
    "topologySpreadConstraints": [{"maxSkew": 1}],
    "priorityClassName": "high",
    "serviceAccountName": "sa",
    "env": [{"name": "TZ", "value": "UTC"}],
    "argsKeySecretRef": {"name": "args", "key": "K"},
    "audit": {"secretRef": {"name": "siem"}},
    "detection": {"policyConfigMap": {"name": "pol", "policyKey": "policy.yaml",
                                      "recognizersKey": "rec.yaml"}},
}  # fmt: skip
FULL_B: dict[str, Any] = {
    "queues": {"events": 19, "default": 9},
    "cron": [{"expression": "@daily", "worker": "b.Digest", "queue": "default",
              "args": {"k": 2}, "priority": 2, "name": "digest"}],
    "concurrencyPerPod": 4,
    "image": "registry.test/piiq:0.2.0",
    "imagePullPolicy": "Never",
    "queuePrefix": "jobs",
    "database": {"secretRef": {"name": "db2", "key": "uri"}},
    "slack": {"secretRef": {"name": "slack2"}, "exemptChannels": ["C0B"], "adminChannel": "C0ADN",
              "oauth": {"secretRef": {"name": "oauth2"}, "scopes": ["users:read"],
                        "userScopes": ["chat:write"], "replicas": 2,
                        "redirectUri": "https://b.test/slack/oauth_redirect"}},
    "pruner": {"maxAge": "3d"},
    "lifeline": {"rescueAfter": "20m"},
    "maintenance": {"enabled": False, "schedule": "*/7 * * * *",
                    "resources": {"limits": {"cpu": 2}, "requests": {"cpu": "200m"}}},
    "ingress": {"enabled": False, "replicas": 3, "service": {"type": "NodePort", "port": 81},
                "resources": {"limits": {"memory": "2Gi"}, "requests": {"memory": "256Mi"}}},
    "autoscaling": {"enabled": False, "targetBacklogPerPod": 40, "scaleDownDelay": "6m",
                    "queues": {"events": {"minReplicas": 2, "maxReplicas": 3,
                                          "targetBacklogPerPod": 11}}},
    "resources": {"limits": {"cpu": 3}, "requests": {"cpu": 2}},
    "nodeSelector": {"disk": "hdd"},
    "tolerations": [{"key": "b", "operator": "Exists", "value": "y", "effect": "NoExecute",
                     "tolerationSeconds": 31}],
    "disruptionBudget": {"enabled": False, "maxUnavailable": 2},
    "networkPolicy": {"enabled": False, "database": {"port": 5433, "to": [PEER_B]},
                      "ingressFrom": [PEER_B], "metricsFrom": [PEER_B]},
    "imagePullSecrets": [{"name": "pull2"}],
    "podAnnotations": {"a": "2"},
    "podLabels": {"team": "b"},
    "affinity": {"nodeAffinity": {"b": 1}},
    "topologySpreadConstraints": [{"maxSkew": 2}],
    "priorityClassName": "low",
    "serviceAccountName": "sb",
    "env": [{"name": "PIIQ_LOG_LEVEL", "value": "debug"}],
    "argsKeySecretRef": {"name": "args2", "key": "L"},
    "audit": {"secretRef": {"name": "siem2"}},
    "detection": {"policyConfigMap": {"name": "pol2", "policyKey": "p.yaml",
                                      "recognizersKey": "r.yaml"}},
}  # fmt: skip


def schema_leaves(schema: Mapping[str, Any], where: str = "") -> Iterator[str]:
    """Schema paths of the fields the CRD declares, down to free-form objects."""
    subs = list(sub_schemas(schema, where))
    if not subs or schema.get("x-kubernetes-preserve-unknown-fields"):
        yield where
        return
    for where_, sub in subs:
        yield from schema_leaves(sub, where_)


def value_leaves(
    value: Any, schema: Mapping[str, Any], where: str = ""
) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(where in ``value``, schema path) of every leaf of ``value``."""
    if schema.get("x-kubernetes-preserve-unknown-fields") or not list(sub_schemas(schema, "")):
        yield (), where
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in (schema.get("properties") or {}):
                sub, where_ = schema["properties"][key], f"{where}.{key}" if where else key
            else:
                sub, where_ = schema["additionalProperties"], f"{where}.*"
            for path, leaf in value_leaves(item, sub, where_):
                yield (key, *path), leaf
    else:
        for i, item in enumerate(value):
            for path, leaf in value_leaves(item, schema["items"], f"{where}[]"):
                yield (i, *path), leaf


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def test_the_package_ships_the_charts_crd() -> None:
    shipped = Path(piiq_operator.__file__).parent / crd.FILE
    assert shipped.resolve() == CRD_PATH.resolve()
    assert crd.crd() == yaml.safe_load(CRD_PATH.read_text())


def test_the_validator_knows_every_keyword_the_crd_uses() -> None:
    assert unknown_keywords(crd.spec_schema()) == []
    assert unknown_keywords({"type": "string", "format": "date-time"}) == [".: format"]


def test_every_pattern_has_a_hint_and_every_hint_a_field() -> None:
    schema = crd.spec_schema()
    for where in HINTS:
        at(schema, where.removeprefix("spec").removeprefix("."))  # KeyError: no such field

    def patterns(sub: Mapping[str, Any], where: str) -> Iterator[str]:
        if "pattern" in sub:
            yield where
        for where_, child in sub_schemas(sub, where):
            yield from patterns(child, where_)

    assert [where for where in patterns(schema, "spec") if where not in HINTS] == []


def test_every_field_of_the_crd_reaches_the_parsed_spec() -> None:
    """FULL_A sets every field the CRD declares; changing any one leaf to FULL_B's value
    changes what parse_spec returns: no field is ignored or read from somewhere else."""
    schema = crd.spec_schema()
    leaves = list(value_leaves(FULL_A, schema))
    assert sorted({where for _, where in leaves}) == sorted(schema_leaves(schema))
    base = parse_spec("pii", FULL_A)
    assert parse_spec("pii", FULL_B) != base
    for path, where in leaves:
        changed = copy.deepcopy(FULL_A)
        get(changed, path[:-1])[path[-1]] = copy.deepcopy(get(FULL_B, path))
        assert parse_spec("pii", changed) != base, where


def manifests(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    body = piiqueue("pii", {"events": 8}, concurrencyPerPod=None, ingress={"enabled": True})
    spec = parse_spec("pii", body["spec"], schema)
    plans = plan(spec)
    replicas = {q: p.replicas for q, p in plans.items()}
    objs = children(spec, OWNER, plans, replicas, Transport.HTTP, None, None)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}


def test_a_default_changed_in_the_crd_reaches_the_manifests() -> None:
    schema = copy.deepcopy(crd.spec_schema())
    fields = schema["properties"]
    fields["concurrencyPerPod"]["default"] = 4
    fields["ingress"]["properties"]["service"]["properties"]["port"]["default"] = 8080
    fields["maintenance"]["properties"]["schedule"]["default"] = "*/7 * * * *"
    fields["pruner"]["properties"]["maxAge"]["default"] = "3d"
    shipped, changed = manifests(None), manifests(schema)
    assert shipped["Deployment/pii-events"]["spec"]["replicas"] == 1  # 8 jobs, 10 per pod
    assert changed["Deployment/pii-events"]["spec"]["replicas"] == 2  # 8 jobs, 4 per pod
    assert shipped["Service/pii-ingress"]["spec"]["ports"][0]["port"] == 80
    assert changed["Service/pii-ingress"]["spec"]["ports"][0]["port"] == 8080
    cronjob = changed["CronJob/pii-maintenance"]["spec"]
    assert cronjob["schedule"] == "*/7 * * * *"
    args = cronjob["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--prune-max-age") + 1] == "3d"


# Each CEL rule of the CRD (by its message) and a spec breaking it: the operator refuses
# that spec too (the emulator runs no CEL, API servers before 1.25 ignore it).
CEL_RULES = {
    "autoscaling.queues.<queue>.maxReplicas must not be above the queue's concurrency in "
    "spec.queues (every pod runs at least one job)": (
        {"queues": {"events": 2}, "autoscaling": {"queues": {"events": {"maxReplicas": 3}}}},
        "maxReplicas is 3, above the queue's concurrency 2",
    ),
    "autoscaling.queues.<queue>.minReplicas must not be above the queue's concurrency in "
    "spec.queues (every pod runs at least one job)": (
        {"queues": {"events": 2}, "autoscaling": {"queues": {"events": {"minReplicas": 3}}}},
        "minReplicas is 3, above the queue's concurrency 2",
    ),
    "cron[].queue must be a queue of spec.queues (the entry runs in that queue's worker pods)": (
        {"cron": [{"expression": "@daily", "worker": "x.Y", "queue": "reports"}]},
        "spec.cron[0].queue 'reports' is not a queue of spec.queues",
    ),
    "queue names use lowercase letters, digits, '-' or '_', starting and ending with a letter "
    "or digit": ({"queues": {"Events": 1}}, "queue name 'Events' is not a valid name"),
    "minReplicas must not be above maxReplicas": (
        {"autoscaling": {"queues": {"events": {"minReplicas": 3, "maxReplicas": 2}}}},
        "spec.autoscaling.queues.events: minReplicas 3 is above maxReplicas 2",
    ),
    "podLabels keys under app.kubernetes.io/ and piiq.dev/ are the operator's": (
        {"podLabels": {"piiq.dev/queue": "x"}},
        "spec.podLabels.piiq.dev/queue: labels under app.kubernetes.io/ and piiq.dev/ are the "
        "operator's",
    ),
}


def cel_messages(schema: Mapping[str, Any]) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations", ()):
        yield rule["message"]
    for _, sub in sub_schemas(schema, ""):
        yield from cel_messages(sub)


def test_every_cel_rule_of_the_crd_is_checked_by_the_operator() -> None:
    assert sorted(cel_messages(crd.spec_schema())) == sorted(CEL_RULES)


@pytest.mark.parametrize(("changes", "expected"), CEL_RULES.values(), ids=list(CEL_RULES))
def test_a_spec_breaking_a_cel_rule_is_refused(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec("pii", piiqueue("pii", **changes)["spec"])
    assert any(expected in p for p in caught.value.problems), caught.value.problems
