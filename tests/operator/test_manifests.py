"""Pure manifest builders, and their output against the Kubernetes schemas (offline)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from operator_helpers import piiqueue

from piiq_operator.manifests import Owner, Transport, children, ingress_transport
from piiq_operator.sizing import plan
from piiq_operator.spec import PIIQueueSpec, parse_spec

OWNER = Owner("pii", "prod", "0b5e8a4e-0000-4000-8000-000000000001")


def build(
    transport: Transport = Transport.HTTP, slack_api_url: str | None = None, **changes: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    spec: PIIQueueSpec = parse_spec("pii", piiqueue("pii", **changes)["spec"])
    plans = plan(spec)
    replicas = {q: p.replicas for q, p in plans.items()}
    objs = children(spec, OWNER, plans, replicas, transport, slack_api_url)
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def env_names(obj: dict[str, Any]) -> set[str]:
    """The env names of a workload's container; none for a Service."""
    return set() if obj["kind"] == "Service" else {e["name"] for e in container(obj)["env"]}


def container(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    pod = spec["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else spec["template"]
    return pod["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("concurrency", "per_pod", "replicas", "each"),
    [(20, 8, 3, 7), (10, 8, 2, 5), (5, 8, 1, 5), (16, 8, 2, 8), (1, 1, 1, 1), (100, 10, 10, 10)],
)
def test_replicas_and_per_pod_limit(
    concurrency: int, per_pod: int, replicas: int, each: int
) -> None:
    deployment = build(queues={"events": concurrency}, concurrencyPerPod=per_pod)[
        "Deployment", "pii-events"
    ]
    assert deployment["spec"]["replicas"] == replicas
    assert container(deployment)["args"] == ["worker", "--queue", f"events={each}"]
    # The total is the configured concurrency, or above it by less than one job per pod.
    assert concurrency <= replicas * each < concurrency + replicas


def test_children_names_commands_and_contract() -> None:
    objs = build(
        queues={"default": 10, "pii_detection": 5},
        ingress={"enabled": True},
        pruner={"maxAge": "14d"},
        lifeline={"rescueAfter": "45m"},
    )
    assert set(objs) == {
        ("Deployment", "pii-default"),
        ("Deployment", "pii-pii-detection"),
        ("CronJob", "pii-maintenance"),
        ("Deployment", "pii-ingress"),
        ("Service", "pii-ingress"),
    }
    cron = objs["CronJob", "pii-maintenance"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert container(cron)["args"] == [
        "maintenance", "--once", "--prune-max-age", "14d", "--rescue-after", "45m",
    ]  # fmt: skip
    assert container(objs["Deployment", "pii-ingress"])["args"] == ["ingress"]
    worker = container(objs["Deployment", "pii-pii-detection"])
    env = {e["name"]: e for e in worker["env"]}
    assert env["PIIQ_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "piiq-db",
        "key": "url",
    }
    assert env["PIIQ_SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "bot-token"
    assert env["PIIQ_SLACK_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env["PIIQ_NODE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["PIIQ_LOG_FORMAT"]["value"] == "json"
    assert all("value" not in e or "SLACK" not in e["name"] for e in worker["env"])  # by reference
    assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert worker["ports"][0]["containerPort"] == 9090
    assert worker["securityContext"]["readOnlyRootFilesystem"] is True
    assert worker["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    pod = objs["Deployment", "pii-pii-detection"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["terminationGracePeriodSeconds"] >= 30
    labels = objs["Deployment", "pii-pii-detection"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "piiq-operator"
    assert labels["piiq.dev/queue"] == "pii_detection"
    service = objs["Service", "pii-ingress"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert (
        service["spec"]["selector"]
        == objs["Deployment", "pii-ingress"]["spec"]["selector"]["matchLabels"]
    )
    for obj in objs.values():
        ref = obj["metadata"]["ownerReferences"][0]
        assert ref == {
            "apiVersion": "piiq.dev/v1alpha1", "kind": "PIIQueue", "name": "pii", "uid": OWNER.uid,
            "controller": True, "blockOwnerDeletion": True,
        }  # fmt: skip


def test_builders_are_pure() -> None:
    assert build() == build()


@pytest.mark.parametrize("version", ["1.29", "1.32", "1.37"])
def test_children_pass_strict_kubernetes_schemas(version: str) -> None:
    objs = build(
        queues={"default": 10, "events": 20, "pii_detection": 5},
        ingress={"enabled": True, "service": {"type": "LoadBalancer", "port": 443}},
        resources={"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        nodeSelector={"pool": "workers"},
        tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "piiq", "effect": "NoSchedule"}
        ],
        env=[{"name": "PIIQ_LOG_LEVEL", "value": "debug"}],
        argsKeySecretRef={"name": "piiq-args-key"},
    )
    for obj in objs.values():
        kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_catches_a_wrong_field() -> None:
    deployment = build()["Deployment", "pii-events"]
    container(deployment)["livenessProbes"] = container(deployment).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.32", strict=True)


@pytest.mark.parametrize(
    ("keys", "transport"),
    [
        ({"bot-token", "signing-secret"}, Transport.HTTP),
        ({"bot-token", "signing-secret", "app-token"}, Transport.HTTP),
        ({"bot-token", "app-token"}, Transport.SOCKET_MODE),
    ],
)
def test_ingress_transport_follows_the_slack_secret(keys: set[str], transport: Transport) -> None:
    assert ingress_transport(keys) is transport


def test_socket_mode_ingress_has_no_service_and_gets_the_app_token() -> None:
    spec = parse_spec("pii", piiqueue("pii", ingress={"enabled": True})["spec"])
    plans = plan(spec)
    replicas = {q: p.replicas for q, p in plans.items()}
    objs = {
        (o["kind"], o["metadata"]["name"]): o
        for o in children(spec, OWNER, plans, replicas, Transport.SOCKET_MODE)
    }
    assert ("Service", "pii-ingress") not in objs
    ingress = container(objs["Deployment", "pii-ingress"])
    assert ingress["args"] == ["ingress", "--socket-mode"]
    env = {e["name"]: e for e in ingress["env"]}
    assert env["PIIQ_SLACK_APP_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "app-token"
    assert env["PIIQ_INGRESS_PORT"]["value"] == "3000"  # /healthz and /readyz still served
    assert ingress["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_deployment_selectors_hold_no_queue_name() -> None:
    """Selectors are immutable: queues that share a Deployment name share its selector."""
    underscore = build(queues={"pii_detection": 5})["Deployment", "pii-pii-detection"]
    dash = build(queues={"pii-detection": 5})["Deployment", "pii-pii-detection"]
    selector = underscore["spec"]["selector"]["matchLabels"]
    assert (
        selector
        == dash["spec"]["selector"]["matchLabels"]
        == {
            "app.kubernetes.io/instance": "pii",
            "app.kubernetes.io/component": "worker",
            "piiq.dev/deployment": "pii-pii-detection",
        }
    )
    template = underscore["spec"]["template"]["metadata"]["labels"]
    assert template.items() >= selector.items() and template["piiq.dev/queue"] == "pii_detection"


SLACK_SECRETS = {
    "PIIQ_SLACK_BOT_TOKEN",
    "PIIQ_SLACK_ADMIN_TOKEN",
    "PIIQ_SLACK_SIGNING_SECRET",
    "PIIQ_SLACK_APP_TOKEN",
}


@pytest.mark.parametrize(
    ("transport", "ingress_secret"),
    [
        (Transport.HTTP, "PIIQ_SLACK_SIGNING_SECRET"),
        (Transport.SOCKET_MODE, "PIIQ_SLACK_APP_TOKEN"),
    ],
)
def test_each_component_gets_only_its_own_secrets(
    transport: Transport, ingress_secret: str
) -> None:
    objs = build(transport, ingress={"enabled": True}, argsKeySecretRef={"name": "piiq-args"})
    ingress = env_names(objs["Deployment", "pii-ingress"])
    worker = env_names(objs["Deployment", "pii-events"])
    maintenance = env_names(objs["CronJob", "pii-maintenance"])
    # The internet-facing ingress: the one Slack secret its transport needs, never a token
    # that acts in Slack.
    assert ingress & SLACK_SECRETS == {ingress_secret}
    assert worker & SLACK_SECRETS == {"PIIQ_SLACK_BOT_TOKEN", "PIIQ_SLACK_ADMIN_TOKEN"}
    # Maintenance runs SQL: the database URL is its only Secret.
    secrets = [
        e["name"]
        for e in container(objs["CronJob", "pii-maintenance"])["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    ]
    assert secrets == ["PIIQ_DATABASE_URL"] and not maintenance & SLACK_SECRETS
    # The args key: the ingress encrypts at intake, the workers decrypt; maintenance never.
    assert "PIIQ_ARGS_KEYS" in ingress and "PIIQ_ARGS_KEYS" in worker
    assert "PIIQ_ARGS_KEYS" not in maintenance
    ref = next(
        e
        for e in container(objs["Deployment", "pii-events"])["env"]
        if e["name"] == "PIIQ_ARGS_KEYS"
    )
    assert ref["valueFrom"]["secretKeyRef"] == {"name": "piiq-args", "key": "PIIQ_ARGS_KEYS"}


def test_an_ingress_secret_is_required_not_optional() -> None:
    """The operator checked the key exists; a pod must not start without it."""
    ingress = container(build(ingress={"enabled": True})["Deployment", "pii-ingress"])
    (secret,) = [e for e in ingress["env"] if e["name"] == "PIIQ_SLACK_SIGNING_SECRET"]
    assert "optional" not in secret["valueFrom"]["secretKeyRef"]


def test_without_an_args_key_no_component_gets_one() -> None:
    assert all(
        "PIIQ_ARGS_KEYS" not in env_names(o) for o in build(ingress={"enabled": True}).values()
    )


def test_the_slack_api_url_is_the_operators_setting() -> None:
    objs = build(Transport.SOCKET_MODE, "http://127.0.0.1:9/api/", ingress={"enabled": True})
    for key in (("Deployment", "pii-events"), ("Deployment", "pii-ingress")):
        values = {e["name"]: e.get("value") for e in container(objs[key])["env"]}
        assert values["PIIQ_SLACK_API_URL"] == "http://127.0.0.1:9/api/"
    assert "PIIQ_SLACK_API_URL" not in env_names(objs["CronJob", "pii-maintenance"])
    assert all("PIIQ_SLACK_API_URL" not in env_names(o) for o in build().values())


def test_slack_channels_reach_the_components_that_use_them() -> None:
    slack = {"secretRef": {"name": "s"}, "exemptChannels": ["C1", "C2"], "adminChannel": "C0ADM"}
    objs = build(ingress={"enabled": True}, slack=slack)

    def values(key: tuple[str, str]) -> dict[str, Any]:
        return {e["name"]: e.get("value") for e in container(objs[key])["env"]}

    worker, ingress = values(("Deployment", "pii-events")), values(("Deployment", "pii-ingress"))
    assert worker["PIIQ_EXEMPT_CHANNELS"] == ingress["PIIQ_EXEMPT_CHANNELS"] == "C1,C2"
    assert worker["PIIQ_ADMIN_CHANNEL"] == "C0ADM" and "PIIQ_ADMIN_CHANNEL" not in ingress
    maintenance = values(("CronJob", "pii-maintenance"))
    assert not {"PIIQ_EXEMPT_CHANNELS", "PIIQ_ADMIN_CHANNEL"} & set(maintenance)
