"""Pure builders: a validated spec -> the Kubernetes objects a PIIQueue owns.

No I/O here: every function returns plain dicts, so tests check them directly and against
the Kubernetes schemas. The container commands, env names and ports are the contract with
``piiq`` (the image's ENTRYPOINT), see docs/operator.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from piiq.queue import format_entry

from .meta import COMPONENT, INGRESS_PORT, METRICS_PORT, QUEUE_LABEL, Manifest, Owner, labels
from .meta import metadata as _metadata
from .network import network_policies
from .sizing import QueuePlan
from .spec import PIIQueueSpec, PolicyConfigMap, SlackOAuth, object_suffix

UID = 10001
WORKER_GRACE_SECONDS = 30  # the worker's own SIGTERM grace is 15 s; the rest hands jobs back
# The Deployment a pod belongs to: with instance and component the whole selector, which is
# immutable, so it holds only what a Deployment of this name always has (not the queue:
# queues "a_b" and "a-b" share the Deployment "<name>-a-b").
DEPLOYMENT_LABEL = "piiq.dev/deployment"
SELECTOR_LABELS = ("app.kubernetes.io/instance", COMPONENT)

# The detection ConfigMap on the workers: where it is mounted, and the pod template
# annotation holding a hash of what they read from it (a change rolls the pods).
DETECTION_DIR = "/etc/piiq/detection"
DETECTION_HASH = "piiq.dev/detection-config-hash"

__all__ = ["Manifest", "Owner", "labels"]  # re-exported: the builders' common parts


@dataclass(frozen=True)
class DetectionFile:
    """One key of the detection ConfigMap as a file the workers read."""

    variable: str  # the setting naming the file (worker/piiq/runtime/settings.py)
    key: str  # the ConfigMap key
    path: str  # the file, under DETECTION_DIR
    field: str  # the spec field naming the key
    holds: str  # what the key holds, for messages


def detection_files(ref: PolicyConfigMap) -> list[DetectionFile]:
    policy = DetectionFile(
        "PIIQ_POLICY_FILE", ref.policy_key, "policy.yaml", "policyKey", "the detection policy YAML"
    )
    if not ref.recognizers_key:
        return [policy]
    recognizers = DetectionFile(
        "PIIQ_RECOGNIZERS_FILE",
        ref.recognizers_key,
        "recognizers.yaml",
        "recognizersKey",
        "the custom recognizers YAML",
    )
    return [policy, recognizers]


def detection_hash(ref: PolicyConfigMap, data: Mapping[str, str]) -> str:
    """A hash of the keys the workers read (other keys of the ConfigMap do not roll them)."""
    used = {f.path: data[f.key] for f in detection_files(ref)}
    return hashlib.sha256(json.dumps(used, sort_keys=True).encode()).hexdigest()


def _mount_detection(pod: Manifest, container: Manifest, ref: PolicyConfigMap) -> None:
    """The ConfigMap's keys as read-only files, and the settings naming them."""
    files = detection_files(ref)
    items = [{"key": f.key, "path": f.path} for f in files]
    pod["volumes"].append({"name": "detection", "configMap": {"name": ref.name, "items": items}})
    container["volumeMounts"].append(
        {"name": "detection", "mountPath": DETECTION_DIR, "readOnly": True}
    )
    container["env"] += [{"name": f.variable, "value": f"{DETECTION_DIR}/{f.path}"} for f in files]


class Transport(Enum):
    """How the ingress receives Slack events."""

    HTTP = "http"  # the Events API: a Service in front, PIIQ_SLACK_SIGNING_SECRET verifies
    SOCKET_MODE = "socket-mode"  # a WebSocket out to Slack (PIIQ_SLACK_APP_TOKEN), no Service


def ingress_transport(slack_keys: Collection[str]) -> Transport:
    """Socket Mode when the Slack Secret has an app-token and no signing-secret."""
    if "app-token" in slack_keys and "signing-secret" not in slack_keys:
        return Transport.SOCKET_MODE
    return Transport.HTTP


def _secret_env(name: str, secret: str, key: str, optional: bool = False) -> Manifest:
    ref: Manifest = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


class Component(Enum):
    """What a container runs; each gets only the Secrets it uses."""

    WORKER = "worker"  # Slack Web API calls: the bot token, the admin token if any
    INGRESS_HTTP = "ingress-http"  # verifies Events API requests: the signing secret
    INGRESS_SOCKET_MODE = "ingress-socket-mode"  # opens the WebSocket: the app token
    INSTALL = "install"  # the OAuth install pages: the client secret and the token keys
    MAINTENANCE = "maintenance"  # SQL only: the database URL


# (variable, key in the Slack Secret, optional) per component. The internet-facing ingress
# never holds the bot or admin token (it only enqueues; Socket Mode's connection is opened
# with the app token alone); workers never hold the signing secret or the app token.
SLACK_ENV: dict[Component, tuple[tuple[str, str, bool], ...]] = {
    Component.WORKER: (
        ("PIIQ_SLACK_BOT_TOKEN", "bot-token", False),
        ("PIIQ_SLACK_ADMIN_TOKEN", "admin-token", True),
    ),
    Component.INGRESS_HTTP: (("PIIQ_SLACK_SIGNING_SECRET", "signing-secret", False),),
    Component.INGRESS_SOCKET_MODE: (("PIIQ_SLACK_APP_TOKEN", "app-token", False),),
    Component.INSTALL: (),
    Component.MAINTENANCE: (),
}
# (variable, key in the OAuth Secret) per component, with spec.slack.oauth. Only the
# install pods and the workers hold the client secret (the code exchange; the refresh of
# rotating tokens) and the token keys (installations encrypted at rest); the
# internet-facing events ingress gets the client id alone, to delete the installations of
# an uninstall event. With OAuth the workers' bot token is optional (a fallback).
OAUTH_CREDENTIALS = (
    ("PIIQ_SLACK_CLIENT_ID", "client-id"),
    ("PIIQ_SLACK_CLIENT_SECRET", "client-secret"),
    ("PIIQ_SLACK_TOKEN_KEYS", "token-keys"),
)
OAUTH_ENV: dict[Component, tuple[tuple[str, str], ...]] = {
    Component.WORKER: OAUTH_CREDENTIALS,
    Component.INSTALL: OAUTH_CREDENTIALS,
    Component.INGRESS_HTTP: OAUTH_CREDENTIALS[:1],
}
# (variable, key in the audit Secret): the SIEM sinks, each optional (docs/audit.md). Only
# the workers write audit rows and send them.
AUDIT_ENV = (
    ("PIIQ_AUDIT_WEBHOOK_URL", "webhook-url"),
    ("PIIQ_AUDIT_WEBHOOK_SECRET", "webhook-secret"),
    ("PIIQ_AUDIT_SPLUNK_HEC_URL", "splunk-hec-url"),
    ("PIIQ_AUDIT_SPLUNK_HEC_TOKEN", "splunk-hec-token"),
    ("PIIQ_AUDIT_SPLUNK_INDEX", "splunk-index"),
)
# Message text is encrypted by the ingress (at intake) and decrypted by the workers.
HOLDS_ARGS_KEY = frozenset(
    {Component.WORKER, Component.INGRESS_HTTP, Component.INGRESS_SOCKET_MODE}
)
# The components that call Slack's API (Socket Mode opens its connection through it; the
# install pages exchange the code).
CALLS_SLACK = frozenset({Component.WORKER, Component.INGRESS_SOCKET_MODE, Component.INSTALL})


def env(
    spec: PIIQueueSpec, component: Component, slack_api_url: str | None = None
) -> list[Manifest]:
    """The contract's PIIQ_* variables; secrets by reference, never by value."""
    result = [
        _secret_env("PIIQ_DATABASE_URL", spec.database.name, spec.database.key),
        {"name": "PIIQ_QUEUE_PREFIX", "value": spec.queue_prefix},
        {"name": "PIIQ_LOG_FORMAT", "value": "json"},
        {"name": "PIIQ_NODE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    oauth = spec.slack.oauth
    result += [
        _secret_env(variable, spec.slack.secret.name, key, optional=optional or oauth is not None)
        for variable, key, optional in SLACK_ENV[component]
    ]
    if oauth is not None:
        result += [
            _secret_env(v, oauth.secret.name, key) for v, key in OAUTH_ENV.get(component, ())
        ]
    if oauth is not None and component is Component.INSTALL:
        result += _install_settings(oauth)
    if spec.slack.exempt_channels and component not in (Component.MAINTENANCE, Component.INSTALL):
        channels = ",".join(spec.slack.exempt_channels)  # the ingress skips them at intake
        result.append({"name": "PIIQ_EXEMPT_CHANNELS", "value": channels})
    if spec.slack.admin_channel and component is Component.WORKER:
        result.append({"name": "PIIQ_ADMIN_CHANNEL", "value": spec.slack.admin_channel})
    if spec.args_key is not None and component in HOLDS_ARGS_KEY:
        result.append(_secret_env("PIIQ_ARGS_KEYS", spec.args_key.name, spec.args_key.key))
    if spec.audit is not None and component is Component.WORKER:
        result += [_secret_env(v, spec.audit.name, key, optional=True) for v, key in AUDIT_ENV]
    if slack_api_url and component in CALLS_SLACK:
        result.append({"name": "PIIQ_SLACK_API_URL", "value": slack_api_url})
    return result + [dict(item) for item in spec.env]


def _install_settings(oauth: SlackOAuth) -> list[Manifest]:
    """What the install asks Slack for, and where Slack sends the person back."""
    result = []
    if oauth.redirect_uri:
        result.append({"name": "PIIQ_SLACK_REDIRECT_URI", "value": oauth.redirect_uri})
    if oauth.scopes is not None:
        result.append({"name": "PIIQ_SLACK_SCOPES", "value": ",".join(oauth.scopes)})
    if oauth.user_scopes is not None:
        result.append({"name": "PIIQ_SLACK_USER_SCOPES", "value": ",".join(oauth.user_scopes)})
    return result


def _container(
    spec: PIIQueueSpec,
    name: str,
    args: list[str],
    resources: Mapping[str, Any],
    environment: list[Manifest],
) -> Manifest:
    container: Manifest = {
        "name": name,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": args,
        "env": environment,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if resources:
        container["resources"] = dict(resources)
    return container


def _probe(path: str, port: str, period: int) -> Manifest:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": 3}


def _with_probes(container: Manifest, port_name: str, ports: list[Manifest]) -> Manifest:
    container["ports"] = ports
    container["livenessProbe"] = {**_probe("/healthz", port_name, 10), "failureThreshold": 3}
    container["readinessProbe"] = {**_probe("/readyz", port_name, 5), "failureThreshold": 2}
    return container


def _pod_spec(spec: PIIQueueSpec, container: Manifest, grace: int, **extra: Any) -> Manifest:
    pod: Manifest = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": grace,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        **extra,
    }
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = [dict(t) for t in spec.tolerations]
    settings = spec.pod
    if settings.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in settings.image_pull_secrets]
    if settings.affinity:
        pod["affinity"] = dict(settings.affinity)
    if settings.topology_spread_constraints:
        pod["topologySpreadConstraints"] = [dict(c) for c in settings.topology_spread_constraints]
    if settings.priority_class_name:
        pod["priorityClassName"] = settings.priority_class_name
    if settings.service_account_name:  # its token stays unmounted
        pod["serviceAccountName"] = settings.service_account_name
    return pod


def _pod_metadata(
    spec: PIIQueueSpec, own: Mapping[str, str], annotations: Mapping[str, str] | None = None
) -> Manifest:
    """A pod template's metadata: the spec's podLabels and podAnnotations under the
    operator's own."""
    meta: Manifest = {"labels": {**spec.pod.labels, **own}}
    if spec.pod.annotations or annotations:
        meta["annotations"] = {**spec.pod.annotations, **(annotations or {})}
    return meta


def selector(labels: Mapping[str, str]) -> dict[str, str]:
    """The immutable part of a Deployment's labels: instance, component, Deployment name."""
    return {k: labels[k] for k in (*SELECTOR_LABELS, DEPLOYMENT_LABEL)}


def _deployment(
    spec: PIIQueueSpec,
    owner: Owner,
    name: str,
    component: str,
    queue: str | None,
    replicas: int,
    pod: Manifest,
    annotations: Mapping[str, str] | None = None,
) -> Manifest:
    meta = _metadata(owner, name, component, queue)
    meta["labels"][DEPLOYMENT_LABEL] = name
    template = {"metadata": _pod_metadata(spec, meta["labels"], annotations), "spec": pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector(meta["labels"])},
            "template": template,
        },
    }


def worker_name(owner: Owner, queue: str) -> str:
    return f"{owner.name}-{object_suffix(queue)}"


def worker_deployment(
    spec: PIIQueueSpec,
    owner: Owner,
    plan: QueuePlan,
    replicas: int,
    slack_api_url: str | None = None,
    detection: str | None = None,
) -> Manifest:
    """``piiq worker --queue q=N/G`` in ``replicas`` pods: N is ``plan.per_pod``, G the
    queue's concurrency, a global limit every pod enforces in its fetch.

    ``detection`` is the hash of the detection ConfigMap's keys (``detection_hash``), an
    annotation of the pods: reconcile reads the ConfigMap and passes it, so a change to
    those keys rolls the pods.

    Each ``spec.cron`` entry of this queue becomes a ``--cron`` argument: every pod of the
    queue evaluates it, and the unique key per tick lets one job per tick in."""
    args = ["worker", "--queue", f"{plan.queue}={plan.per_pod}/{plan.concurrency}"]
    for entry in spec.cron:
        if entry.queue == plan.queue:
            args += ["--cron", format_entry(entry)]
    environment = env(spec, Component.WORKER, slack_api_url)
    container = _container(spec, "worker", args, spec.resources, environment)
    container["env"].append({"name": "PIIQ_METRICS_PORT", "value": str(METRICS_PORT)})
    ports = [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}]
    _with_probes(container, "metrics", ports)
    pod = _pod_spec(spec, container, WORKER_GRACE_SECONDS)
    if spec.policy_config_map is not None:
        _mount_detection(pod, container, spec.policy_config_map)
    annotations = {DETECTION_HASH: detection} if detection else {}
    name = worker_name(owner, plan.queue)
    return _deployment(spec, owner, name, "worker", plan.queue, replicas, pod, annotations)


def maintenance_cronjob(spec: PIIQueueSpec, owner: Owner) -> Manifest:
    m = spec.maintenance
    args = [
        "maintenance",
        "--once",
        "--prune-max-age",
        m.prune_max_age,
        "--rescue-after",
        m.rescue_after,
    ]
    environment = env(spec, Component.MAINTENANCE)
    container = _container(spec, "maintenance", args, m.resources, environment)
    pod = _pod_spec(spec, container, 30, restartPolicy="Never")
    meta = _metadata(owner, f"{owner.name}-maintenance", "maintenance")
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": m.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": dict(meta["labels"])},
                "spec": {
                    "backoffLimit": 2,
                    "template": {"metadata": _pod_metadata(spec, meta["labels"]), "spec": pod},
                },
            },
        },
    }


def ingress_name(owner: Owner) -> str:
    return f"{owner.name}-ingress"


def ingress_deployment(
    spec: PIIQueueSpec,
    owner: Owner,
    transport: Transport = Transport.HTTP,
    slack_api_url: str | None = None,
) -> Manifest:
    """``piiq ingress``, or ``piiq ingress --socket-mode``; /healthz, /readyz on 3000 either way."""
    http = transport is Transport.HTTP
    args = ["ingress"] if http else ["ingress", "--socket-mode"]
    if spec.slack.oauth is not None:  # the install pages run apart (install_deployment)
        args += ["--routes", "events"]
    component = Component.INGRESS_HTTP if http else Component.INGRESS_SOCKET_MODE
    replicas = spec.ingress.replicas
    pod = _http_pod(spec, args, env(spec, component, slack_api_url))
    return _deployment(spec, owner, ingress_name(owner), "ingress", None, replicas, pod)


def _http_pod(spec: PIIQueueSpec, args: list[str], environment: list[Manifest]) -> Manifest:
    """A ``piiq ingress`` pod: its HTTP port (3000, with the probes) and metrics port."""
    container = _container(spec, "ingress", args, spec.ingress.resources, environment)
    container["env"] += [
        {"name": "PIIQ_INGRESS_PORT", "value": str(INGRESS_PORT)},
        {"name": "PIIQ_METRICS_PORT", "value": str(METRICS_PORT)},
    ]
    ports = [
        {"name": "http", "containerPort": INGRESS_PORT, "protocol": "TCP"},
        {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
    ]
    _with_probes(container, "http", ports)
    return _pod_spec(spec, container, 30)


def install_name(owner: Owner) -> str:
    return f"{owner.name}-install"


def install_deployment(
    spec: PIIQueueSpec, owner: Owner, oauth: SlackOAuth, slack_api_url: str | None = None
) -> Manifest:
    """``piiq ingress --routes install``: /slack/install and /slack/oauth_redirect alone,
    with the OAuth Secret and the database, no signing secret, no message keys."""
    args = ["ingress", "--routes", "install"]
    pod = _http_pod(spec, args, env(spec, Component.INSTALL, slack_api_url))
    name = install_name(owner)
    return _deployment(spec, owner, name, "install", None, oauth.replicas, pod)


def ingress_service(spec: PIIQueueSpec, owner: Owner, component: str = "ingress") -> Manifest:
    """The Service in front of the ingress (or, ``component`` install, the install pages)."""
    name = install_name(owner) if component == "install" else ingress_name(owner)
    meta = _metadata(owner, name, component)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": spec.ingress.service_type,
            "selector": selector({**meta["labels"], DEPLOYMENT_LABEL: name}),
            "ports": [
                {
                    "name": "http",
                    "port": spec.ingress.service_port,
                    "targetPort": "http",
                    "protocol": "TCP",
                },
            ],
        },
    }


def disruption_budget(spec: PIIQueueSpec, owner: Owner, deployment: Manifest) -> Manifest:
    """A PodDisruptionBudget over one Deployment's pods, named after it: voluntary
    disruptions (a node drain) take at most ``maxUnavailable`` of them at once. With one
    replica it still lets a drain proceed (maxUnavailable, not minAvailable), and pods that
    are not ready may always be evicted (they serve nothing)."""
    meta = deployment["metadata"]
    labels = meta["labels"]
    metadata = _metadata(owner, meta["name"], labels[COMPONENT], labels.get(QUEUE_LABEL))
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata,
        "spec": {
            "maxUnavailable": spec.disruption_budget.max_unavailable,
            "selector": {"matchLabels": dict(deployment["spec"]["selector"]["matchLabels"])},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def children(
    spec: PIIQueueSpec,
    owner: Owner,
    plans: Mapping[str, QueuePlan],
    replicas: Mapping[str, int],
    transport: Transport = Transport.HTTP,
    slack_api_url: str | None = None,
    detection: str | None = None,
) -> list[Manifest]:
    """Everything the PIIQueue should own, in a stable order (workers by queue name).

    The ingress Service exists only for the HTTP transport: Socket Mode needs no inbound
    traffic (and a Service left from HTTP mode is deleted as no longer wanted). With
    ``spec.slack.oauth`` the install Deployment and its Service serve the install pages.
    ``slack_api_url`` is the operator's setting (never the PIIQueue's); ``detection`` the
    hash of the detection ConfigMap's keys, when the spec names one."""
    deployments = [
        worker_deployment(spec, owner, plans[q], replicas[q], slack_api_url, detection)
        for q in sorted(plans)
    ]
    if spec.ingress.enabled:
        deployments.append(ingress_deployment(spec, owner, transport, slack_api_url))
    oauth = spec.slack.oauth
    install = install_deployment(spec, owner, oauth, slack_api_url) if oauth else None
    if install is not None:
        deployments.append(install)
    result = [d for d in deployments if d["metadata"]["labels"][COMPONENT] == "worker"]
    if spec.maintenance.enabled:
        result.append(maintenance_cronjob(spec, owner))
    result += [d for d in deployments if d["metadata"]["labels"][COMPONENT] == "ingress"]
    if spec.ingress.enabled and transport is Transport.HTTP:
        result.append(ingress_service(spec, owner))
    if install is not None:
        result += [install, ingress_service(spec, owner, "install")]
    if spec.disruption_budget.enabled:
        result += [disruption_budget(spec, owner, d) for d in deployments]
    return result + network_policies(spec, owner, ingress_http=transport is Transport.HTTP)
