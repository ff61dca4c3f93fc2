"""Pure manifest builders, and their output against the Kubernetes schemas (offline)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from piiq_operator.manifests import (
    DETECTION_DIR,
    DETECTION_HASH,
    Owner,
    Transport,
    children,
    detection_hash,
    ingress_transport,
)
from piiq_operator.sizing import plan
from piiq_operator.spec import PIIQueueSpec, PolicyConfigMap, SpecError, parse_spec
from tests.operator.operator_helpers import piiqueue

OWNER = Owner("pii", "prod", "0b5e8a4e-0000-4000-8000-000000000001")


def build(
    transport: Transport = Transport.HTTP,
    slack_api_url: str | None = None,
    config_hash: str | None = None,
    **changes: Any,
) -> dict[tuple[str, str], dict[str, Any]]:
    spec: PIIQueueSpec = parse_spec("pii", piiqueue("pii", **changes)["spec"])
    plans = plan(spec)
    replicas = {q: p.replicas for q, p in plans.items()}
    objs = children(spec, OWNER, plans, replicas, transport, slack_api_url, config_hash)
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def env_names(obj: dict[str, Any]) -> set[str]:
    """The env names of a workload's container; none for a Service or a budget."""
    if obj["kind"] not in ("Deployment", "CronJob"):
        return set()
    return {e["name"] for e in container(obj)["env"]}


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
    # The configured concurrency is the global limit every pod enforces; the per-pod limits
    # add up to it, or to less than one job per pod more, which the global limit never lets run.
    assert container(deployment)["args"] == ["worker", "--queue", f"events={each}/{concurrency}"]
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
        ("PodDisruptionBudget", "pii-default"),
        ("PodDisruptionBudget", "pii-pii-detection"),
        ("PodDisruptionBudget", "pii-ingress"),
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


POD_SETTINGS: dict[str, Any] = {
    "imagePullSecrets": [{"name": "regcred"}],
    "podAnnotations": {"example.com/scrape": "true"},
    "podLabels": {"team": "security"},
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "pii"}},
                    },
                }
            ]
        }
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"piiq.dev/deployment": "pii-events"}},
        }
    ],
    "priorityClassName": "piiq-high",
    "serviceAccountName": "piiq-workers",
}


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    return spec["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else spec["template"]


def test_pod_settings_reach_every_pod() -> None:
    objs = build(ingress={"enabled": True}, **POD_SETTINGS)
    workloads = [o for o in objs.values() if o["kind"] in ("Deployment", "CronJob")]
    assert len(workloads) == 4  # two queues, the ingress, maintenance
    for obj in workloads:
        template = pod_template(obj)
        pod = template["spec"]
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]
        assert pod["affinity"] == POD_SETTINGS["affinity"]
        assert pod["topologySpreadConstraints"] == POD_SETTINGS["topologySpreadConstraints"]
        assert pod["priorityClassName"] == "piiq-high"
        assert pod["serviceAccountName"] == "piiq-workers"
        assert pod["automountServiceAccountToken"] is False  # its token is never mounted
        assert template["metadata"]["annotations"] == {"example.com/scrape": "true"}
        labels = template["metadata"]["labels"]
        assert labels["team"] == "security"
        assert labels["app.kubernetes.io/managed-by"] == "piiq-operator"
    events = objs["Deployment", "pii-events"]
    # The selector still holds only the operator's labels.
    assert "team" not in events["spec"]["selector"]["matchLabels"]
    for version in ("1.29", "1.37"):
        for obj in objs.values():
            kubernetes_validate.validate(obj, version, strict=True)


def test_without_pod_settings_pods_are_unchanged() -> None:
    pod = pod_template(build()["Deployment", "pii-events"])
    assert "annotations" not in pod["metadata"]
    assert not {"imagePullSecrets", "affinity", "priorityClassName", "serviceAccountName"} & set(
        pod["spec"]
    )


DETECTION = {"policyConfigMap": {"name": "piiq-detection", "recognizersKey": "ids.yaml"}}
POLICY = "entities:\n  PERSON: {warn: 0.9}\n"


def policy_config_map(detection: dict[str, Any]) -> PolicyConfigMap:
    ref = parse_spec("pii", piiqueue("pii", detection=detection)["spec"]).policy_config_map
    assert ref is not None
    return ref


def test_the_detection_configmap_is_mounted_read_only_on_the_workers_only() -> None:
    checksum = detection_hash(policy_config_map(DETECTION), {"policy.yaml": POLICY, "ids.yaml": ""})
    objs = build(
        config_hash=checksum,
        detection=DETECTION,
        ingress={"enabled": True},
        podAnnotations={"a.io/b": "c"},
    )
    for name in ("pii-default", "pii-events"):
        template = pod_template(objs["Deployment", name])
        assert template["metadata"]["annotations"] == {"a.io/b": "c", DETECTION_HASH: checksum}
        (volume,) = [v for v in template["spec"]["volumes"] if v["name"] == "detection"]
        assert volume["configMap"] == {
            "name": "piiq-detection",
            "items": [
                {"key": "policy.yaml", "path": "policy.yaml"},
                {"key": "ids.yaml", "path": "recognizers.yaml"},
            ],
        }
        worker = template["spec"]["containers"][0]
        mount = {"name": "detection", "mountPath": DETECTION_DIR, "readOnly": True}
        assert mount in worker["volumeMounts"]
        env = {e["name"]: e.get("value") for e in worker["env"]}
        assert env["PIIQ_POLICY_FILE"] == "/etc/piiq/detection/policy.yaml"
        assert env["PIIQ_RECOGNIZERS_FILE"] == "/etc/piiq/detection/recognizers.yaml"
    for key in (("Deployment", "pii-ingress"), ("CronJob", "pii-maintenance")):
        assert not {"PIIQ_POLICY_FILE", "PIIQ_RECOGNIZERS_FILE"} & env_names(objs[key])
        assert DETECTION_HASH not in pod_template(objs[key])["metadata"].get("annotations", {})
    for version in ("1.29", "1.37"):
        for obj in objs.values():
            kubernetes_validate.validate(obj, version, strict=True)


def test_without_recognizers_only_the_policy_is_mounted() -> None:
    detection = {"policyConfigMap": {"name": "piiq-detection", "policyKey": "strict.yaml"}}
    worker = pod_template(build(config_hash="h", detection=detection)["Deployment", "pii-events"])
    (volume,) = [v for v in worker["spec"]["volumes"] if v["name"] == "detection"]
    assert volume["configMap"]["items"] == [{"key": "strict.yaml", "path": "policy.yaml"}]
    assert "PIIQ_RECOGNIZERS_FILE" not in {
        e["name"] for e in worker["spec"]["containers"][0]["env"]
    }


def test_the_hash_covers_only_the_keys_the_workers_read() -> None:
    ref = policy_config_map(DETECTION)
    data = {"policy.yaml": POLICY, "ids.yaml": "recognizers: []\n", "README": "notes"}
    checksum = detection_hash(ref, data)
    assert detection_hash(ref, {**data, "README": "other notes"}) == checksum
    assert detection_hash(ref, {**data, "policy.yaml": POLICY + "allow: {}\n"}) != checksum
    assert detection_hash(ref, {**data, "ids.yaml": "recognizers: [ ]\n"}) != checksum
    # The same text under the other key is another configuration.
    swapped = {"policy.yaml": data["ids.yaml"], "ids.yaml": POLICY}
    assert detection_hash(ref, swapped) != checksum


def test_without_a_detection_configmap_workers_use_the_images_policy() -> None:
    worker = pod_template(build()["Deployment", "pii-events"])
    assert [v["name"] for v in worker["spec"]["volumes"]] == ["tmp"]
    assert not {"PIIQ_POLICY_FILE", "PIIQ_RECOGNIZERS_FILE"} & env_names(
        build()["Deployment", "pii-events"]
    )


def test_a_disruption_budget_covers_each_deployment_and_can_be_turned_off() -> None:
    objs = build(ingress={"enabled": True}, disruptionBudget={"maxUnavailable": 2})
    deployments = {name for kind, name in objs if kind == "Deployment"}
    budgets = {name: o for (kind, name), o in objs.items() if kind == "PodDisruptionBudget"}
    assert set(budgets) == deployments == {"pii-default", "pii-events", "pii-ingress"}
    for name, budget in budgets.items():
        selector = objs["Deployment", name]["spec"]["selector"]["matchLabels"]
        assert budget["spec"] == {
            "maxUnavailable": 2,
            "selector": {"matchLabels": selector},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        }
        assert budget["metadata"]["ownerReferences"][0]["uid"] == OWNER.uid
    off = build(disruptionBudget={"enabled": False})
    assert not [key for key in off if key[0] == "PodDisruptionBudget"]


def policies(**changes: Any) -> dict[str, dict[str, Any]]:
    transport = changes.pop("transport", Transport.HTTP)
    objs = build(transport, **changes)
    return {name: o for (kind, name), o in objs.items() if kind == "NetworkPolicy"}


def test_network_policies_are_off_by_default() -> None:
    assert policies(ingress={"enabled": True}) == {}


def test_network_policies_let_each_component_talk_only_to_what_it_needs() -> None:
    monitoring = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}
    database = {"ipBlock": {"cidr": "10.0.5.0/24"}}
    found = policies(
        ingress={"enabled": True},
        networkPolicy={
            "enabled": True,
            "database": {"port": 6432, "to": [database]},
            "metricsFrom": [monitoring],
        },
    )
    assert set(found) == {"pii-workers", "pii-ingress", "pii-maintenance"}
    for name, component in (("pii-workers", "worker"), ("pii-ingress", "ingress")):
        selector = found[name]["spec"]["podSelector"]["matchLabels"]
        assert selector == {
            "app.kubernetes.io/instance": "pii",
            "app.kubernetes.io/component": component,
        }
    workers, ingress, maintenance = (
        found[n]["spec"] for n in ("pii-workers", "pii-ingress", "pii-maintenance")
    )
    for policy in (workers, ingress, maintenance):
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        dns, db = policy["egress"][:2]
        assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
        assert db == {"ports": [{"port": 6432, "protocol": "TCP"}], "to": [database]}
    # Workers: nothing in but the scrape; out to HTTPS (Slack).
    assert workers["ingress"] == [
        {"ports": [{"port": 9090, "protocol": "TCP"}], "from": [monitoring]}
    ]
    assert workers["egress"][2]["ports"] == [{"port": 443, "protocol": "TCP"}]
    # The HTTP ingress: its port from anyone; it calls no one but the database.
    assert ingress["ingress"][0] == {"ports": [{"port": 3000, "protocol": "TCP"}]}
    assert len(ingress["egress"]) == 2
    # Maintenance: SQL only.
    assert maintenance["ingress"] == [] and len(maintenance["egress"]) == 2
    for version in ("1.29", "1.37"):
        for policy in found.values():
            kubernetes_validate.validate(policy, version, strict=True)


def test_a_socket_mode_ingress_takes_nothing_in_and_reaches_slack() -> None:
    found = policies(
        transport=Transport.SOCKET_MODE, ingress={"enabled": True}, networkPolicy={"enabled": True}
    )
    ingress = found["pii-ingress"]["spec"]
    assert ingress["ingress"] == []  # no metricsFrom, no Events API
    assert ingress["egress"][2]["ports"] == [{"port": 443, "protocol": "TCP"}]
    assert found["pii-workers"]["spec"]["ingress"] == []


def test_network_policy_peers_are_checked() -> None:
    with pytest.raises(SpecError, match=r"spec\.networkPolicy\.metricsFrom\[0\] 'x' is not a "):
        parse_spec("pii", piiqueue("pii", networkPolicy={"metricsFrom": ["x"]})["spec"])


def test_the_audit_secret_reaches_the_workers_only_each_key_optional() -> None:
    """spec.audit.secretRef: the SIEM sinks (docs/audit.md) for the workers, which write
    the audit rows and send them; never the ingress or maintenance."""
    objs = build(
        queues={"events": 4, "audit": 1},
        ingress={"enabled": True},
        audit={"secretRef": {"name": "piiq-audit"}},
    )
    audit_env = {
        "PIIQ_AUDIT_WEBHOOK_URL": "webhook-url",
        "PIIQ_AUDIT_WEBHOOK_SECRET": "webhook-secret",
        "PIIQ_AUDIT_SPLUNK_HEC_URL": "splunk-hec-url",
        "PIIQ_AUDIT_SPLUNK_HEC_TOKEN": "splunk-hec-token",
        "PIIQ_AUDIT_SPLUNK_INDEX": "splunk-index",
    }
    for name in ("pii-events", "pii-audit"):
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container(objs["Deployment", name])["env"]
            if e["name"] in audit_env
        }
        assert refs == {
            var: {"name": "piiq-audit", "key": key, "optional": True}
            for var, key in audit_env.items()
        }
    assert not env_names(objs["Deployment", "pii-ingress"]) & set(audit_env)
    assert not env_names(objs["CronJob", "pii-maintenance"]) & set(audit_env)
    assert not any(n.startswith("PIIQ_AUDIT") for o in build().values() for n in env_names(o))


def test_the_audit_sinks_are_set_only_through_their_secret() -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec(
            "pii",
            piiqueue(
                "pii",
                env=[{"name": "PIIQ_AUDIT_WEBHOOK_URL", "value": "https://elsewhere.example"}],
                audit={"secretRef": {"name": "piiq-audit"}, "webhookUrl": "https://x.example"},
            )["spec"],
        )
    problems = " | ".join(refused.value.problems)
    assert "PIIQ_AUDIT_WEBHOOK_URL" in problems and "spec.audit.secretRef" in problems
    assert "spec.audit.webhookUrl is not a known field" in problems


OAUTH = {
    "secretRef": {"name": "piiq-slack-oauth"},
    "redirectUri": "https://piiq.example.com/slack/oauth_redirect",
    "scopes": ["channels:history", "chat:write"],
    "userScopes": [],
}
OAUTH_SECRETS = {"PIIQ_SLACK_CLIENT_ID", "PIIQ_SLACK_CLIENT_SECRET", "PIIQ_SLACK_TOKEN_KEYS"}


def secret_refs(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container(obj)["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def test_oauth_runs_the_install_pages_apart_with_the_client_secret() -> None:
    """spec.slack.oauth: an install Deployment and Service (the only pods with the client
    secret besides the workers, which refresh rotating tokens and decrypt installations);
    the internet-facing events ingress gets the client id alone; the bot token becomes a
    fallback the workers may lack."""
    objs = build(
        slack={"secretRef": {"name": "piiq-slack"}, "oauth": OAUTH},
        ingress={"enabled": True},
        argsKeySecretRef={"name": "piiq-args"},
        networkPolicy={"enabled": True},
    )
    install = objs["Deployment", "pii-install"]
    pod = container(install)
    assert pod["args"] == ["ingress", "--routes", "install"]
    assert install["spec"]["replicas"] == 1
    refs = secret_refs(install)
    assert refs == {
        "PIIQ_DATABASE_URL": {"name": "piiq-db", "key": "url"},
        "PIIQ_SLACK_CLIENT_ID": {"name": "piiq-slack-oauth", "key": "client-id"},
        "PIIQ_SLACK_CLIENT_SECRET": {"name": "piiq-slack-oauth", "key": "client-secret"},
        "PIIQ_SLACK_TOKEN_KEYS": {"name": "piiq-slack-oauth", "key": "token-keys"},
    }
    values = {e["name"]: e.get("value") for e in pod["env"]}
    assert values["PIIQ_SLACK_REDIRECT_URI"] == OAUTH["redirectUri"]
    assert values["PIIQ_SLACK_SCOPES"] == "channels:history,chat:write"
    assert values["PIIQ_SLACK_USER_SCOPES"] == ""  # none asked: piiq only notifies
    assert "PIIQ_ARGS_KEYS" not in values and "PIIQ_EXEMPT_CHANNELS" not in values

    service = objs["Service", "pii-install"]
    assert service["spec"]["selector"]["piiq.dev/deployment"] == "pii-install"
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    ingress = container(objs["Deployment", "pii-ingress"])
    assert ingress["args"] == ["ingress", "--routes", "events"]
    assert env_names(objs["Deployment", "pii-ingress"]) & OAUTH_SECRETS == {"PIIQ_SLACK_CLIENT_ID"}

    worker = secret_refs(objs["Deployment", "pii-events"])
    assert set(worker) >= OAUTH_SECRETS
    assert worker["PIIQ_SLACK_BOT_TOKEN"]["optional"] is True
    assert not env_names(objs["CronJob", "pii-maintenance"]) & OAUTH_SECRETS
    # The install pods take browsers in on their port and reach slack.com and the database.
    policy = objs["NetworkPolicy", "pii-install"]["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "install"
    assert policy["ingress"] == [{"ports": [{"port": 3000, "protocol": "TCP"}]}]
    assert [r["ports"][0]["port"] for r in policy["egress"]] == [53, 5432, 443]
    assert ("PodDisruptionBudget", "pii-install") in objs
    for version in ("1.29", "1.37"):
        for obj in objs.values():
            kubernetes_validate.validate(obj, version, strict=True)


def test_without_oauth_no_component_gets_its_settings_and_the_bot_token_is_required() -> None:
    objs = build(ingress={"enabled": True})
    assert ("Deployment", "pii-install") not in objs and ("Service", "pii-install") not in objs
    assert not any(env_names(o) & OAUTH_SECRETS for o in objs.values())
    assert container(objs["Deployment", "pii-ingress"])["args"] == ["ingress"]
    bot = secret_refs(objs["Deployment", "pii-events"])["PIIQ_SLACK_BOT_TOKEN"]
    assert "optional" not in bot


@pytest.mark.parametrize(
    ("oauth", "said"),
    [
        ({"secretRef": {"name": "o"}, "redirectUri": "http://x.test/slack/oauth_redirect"},
         "spec.slack.oauth.redirectUri"),
        ({"secretRef": {"name": "o"}, "scopes": ["Chat Write"]}, "spec.slack.oauth.scopes[0]"),
        ({"secretRef": {"name": "o"}, "replicas": 0}, "spec.slack.oauth.replicas"),
        ({}, "spec.slack.oauth"),
    ],
)  # fmt: skip
def test_oauth_settings_that_cannot_work_are_named(oauth: dict[str, Any], said: str) -> None:
    slack = {"secretRef": {"name": "s"}, "oauth": oauth}
    with pytest.raises(SpecError) as refused:
        parse_spec("pii", piiqueue("pii", slack=slack)["spec"])
    assert said in str(refused.value), refused.value


@pytest.mark.parametrize(
    "name",
    ["PIIQ_SLACK_CLIENT_ID", "PIIQ_SLACK_CLIENT_SECRET", "PIIQ_SLACK_TOKEN_KEYS",
     "PIIQ_SLACK_REDIRECT_URI", "PIIQ_SLACK_SCOPES", "PIIQ_SLACK_USER_SCOPES"],
)  # fmt: skip
def test_the_oauth_settings_come_only_from_spec_slack_oauth(name: str) -> None:
    with pytest.raises(SpecError, match=rf"{name} is set by the operator from spec\.slack\.oauth"):
        parse_spec("pii", piiqueue("pii", env=[{"name": name, "value": "x"}])["spec"])
