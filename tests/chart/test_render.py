"""The chart rendered and linted by the real Helm engine; every object against the
Kubernetes schemas (kubernetes-validate, strict, offline) or, for PIIQueues, the CRD."""

from __future__ import annotations

import base64
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from helm_python import HelmRenderError

from tests.support.helm_chart import (
    by_kind,
    containers,
    crd_schema,
    flag_values,
    hooks,
    is_hook,
    lint,
    pod_spec,
    render,
    render_files,
)
from tests.support.helm_chart import (
    operator_args as chart_operator_args,
)

from .values_sets import EVERYTHING, QUICK_START, VALUE_SETS

KUBERNETES_VERSIONS = ("1.29", "1.32", "1.37")


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_lint_is_clean(values: dict[str, Any]) -> None:
    report = lint(values)
    assert report["errors"] == [] and report["messages"] == [], report


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_object_passes_strict_schemas(values: dict[str, Any]) -> None:
    objs = render(values)
    assert objs
    for obj in objs:
        if obj["kind"] == "PIIQueue":
            jsonschema.validate(obj, crd_schema())
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_would_catch_a_wrong_field() -> None:
    (deployment,) = by_kind(render(), "Deployment")
    pod_spec(deployment)["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.32", strict=True)


def test_defaults_install_the_operator_and_its_rbac_only() -> None:
    objs = render()
    kinds = sorted(obj["kind"] for obj in objs if not is_hook(obj))
    # The two metrics Services (monitoring.service) are on by default too.
    assert kinds == [
        "ClusterRole", "ClusterRoleBinding", "Deployment", "Role", "RoleBinding",
        "Service", "Service", "ServiceAccount",
    ]  # fmt: skip
    assert not by_kind(objs, "Secret") and not by_kind(objs, "PIIQueue")


def test_operator_deployment() -> None:
    (deployment,) = by_kind(render(), "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = pod_spec(deployment)
    assert pod["serviceAccountName"] == "piiq"
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"]
    (container,) = pod["containers"]
    assert container["image"] == "localhost/piiq:0.1.0"
    assert container["args"][:3] == ["operator", "--namespace", "piiq"]  # its own namespace
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    probe = container["livenessProbe"]["httpGet"]
    assert probe == {"path": "/healthz", "port": "health"}
    assert container["ports"][0]["containerPort"] == 8080
    assert "http://0.0.0.0:8080/healthz" in container["args"]
    selector = spec["selector"]["matchLabels"]
    assert selector.items() <= spec["template"]["metadata"]["labels"].items()


# The operator's needs (docs/operator.md, "RBAC the operator needs").
NAMESPACED_RULES = {
    ("piiq.dev", "piiqueues"): {"get", "list", "watch", "patch"},
    ("piiq.dev", "piiqueues/status"): {"get", "patch"},
    ("apps", "deployments"): {"get", "list", "watch", "create", "patch", "delete"},
    ("batch", "cronjobs"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "services"): {"get", "list", "watch", "create", "patch", "delete"},
    ("policy", "poddisruptionbudgets"): {"get", "list", "watch", "create", "patch", "delete"},
    ("networking.k8s.io", "networkpolicies"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "secrets"): {"get"},
    ("", "configmaps"): {"get"},  # spec.detection.policyConfigMap, read on every reconcile
    ("", "events"): {"create", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
}
CRDS = {("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"}}
NAMESPACES = {("", "namespaces"): {"get", "list", "watch"}}


def grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    result: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                result.setdefault((group, resource), set()).update(rule["verbs"])
    return result


def test_rbac_default_reads_secrets_in_the_release_namespace_only() -> None:
    objs = render()
    (cluster_role,) = by_kind(objs, "ClusterRole")
    assert grants(cluster_role) == CRDS | NAMESPACES  # no Secret outside its namespace
    (role,) = by_kind(objs, "Role")
    assert role["metadata"]["namespace"] == "piiq" and grants(role) == NAMESPACED_RULES
    (binding,) = by_kind(objs, "RoleBinding")
    assert binding["metadata"]["namespace"] == "piiq"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "piiq", "namespace": "piiq"}]


def test_rbac_cluster_wide_is_an_opt_in() -> None:
    objs = render({"operator": {"clusterWide": True}})
    (role,) = by_kind(objs, "ClusterRole")
    assert grants(role) == NAMESPACED_RULES | CRDS
    assert not by_kind(objs, "Role") and not by_kind(objs, "RoleBinding")
    (binding,) = by_kind(objs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "piiq", "namespace": "piiq"}]
    (deployment,) = by_kind(objs, "Deployment")
    args = pod_spec(deployment)["containers"][0]["args"]
    assert args[:2] == ["operator", "--all-namespaces"] and "--namespace" not in args
    notes = render_files({"operator": {"clusterWide": True}})["piiq/templates/NOTES.txt"]
    assert "reads every Secret of the cluster" in notes
    with pytest.raises(HelmRenderError, match=r"leave operator\.watchNamespaces empty"):
        render({"operator": {"clusterWide": True, "watchNamespaces": ["a"]}})


def test_rbac_namespaced_mode_keeps_namespaced_rights_in_the_watched_namespaces() -> None:
    objs = render(EVERYTHING)
    (cluster_role,) = by_kind(objs, "ClusterRole")
    assert grants(cluster_role) == CRDS | NAMESPACES
    roles = {r["metadata"]["namespace"]: r for r in by_kind(objs, "Role")}
    assert set(roles) == {"team-a", "team-b"}
    for role in roles.values():
        assert grants(role) == NAMESPACED_RULES
    bindings = by_kind(objs, "RoleBinding")
    assert {b["metadata"]["namespace"] for b in bindings} == {"team-a", "team-b"}
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "piiq-operator",
        }
        assert binding["subjects"][0]["namespace"] == "piiq"
    (deployment,) = by_kind(objs, "Deployment")
    args = pod_spec(deployment)["containers"][0]["args"]
    assert args[:5] == ["operator", "--namespace", "team-a", "--namespace", "team-b"]


def test_rbac_off_renders_no_roles() -> None:
    objs = render({"rbac": {"create": False}})
    assert not [o for o in objs if o["kind"].endswith(("Role", "RoleBinding"))]


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_quick_start_secrets_have_the_keys_the_operator_reads() -> None:
    secrets = {s["metadata"]["name"]: s for s in by_kind(render(QUICK_START), "Secret")}
    assert decoded(secrets["piiq-db"]) == {"url": "postgresql://piiq:pw@postgres:5432/piiq"}
    assert set(decoded(secrets["piiq-slack"])) == {
        "bot-token",
        "signing-secret",
        "admin-token",
        "app-token",
    }
    only_bot = {**QUICK_START, "quickStartSecrets": {"create": True, "databaseUrl": "postgres://x"}}
    only_bot["quickStartSecrets"]["slack"] = {"botToken": "xoxb-2"}
    slack = next(
        s for s in by_kind(render(only_bot), "Secret") if s["metadata"]["name"] == "piiq-slack"
    )
    assert decoded(slack) == {"bot-token": "xoxb-2"}  # optional keys left out, not empty


def test_example_piiqueue_uses_the_chart_image_and_secrets() -> None:
    (queue,) = by_kind(render(EVERYTHING), "PIIQueue")
    spec = queue["spec"]
    assert spec["image"] == "registry.example.com/piiq:1.2.3"
    assert spec["imagePullPolicy"] == "Always"
    assert spec["database"] == {"secretRef": {"name": "piiq-db", "key": "url"}}
    assert spec["slack"] == {"secretRef": {"name": "piiq-slack"}}
    assert spec["queues"] == {"default": 10, "events": 20, "pii_detection": 5}
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]  # worker pods pull like the operator
    overridden = render(
        {"examplePIIQueue": {"enabled": True, "spec": {"queues": {"q": 1}, "queuePrefix": "x"}}}
    )
    (queue,) = by_kind(overridden, "PIIQueue")
    assert queue["spec"]["queues"] == {"q": 1} and queue["spec"]["queuePrefix"] == "x"


@pytest.mark.parametrize(
    ("values", "args"),
    [
        ({}, ["queues"]),
        (EVERYTHING, ["canary", "--queue", "events", "--timeout", "90s"]),
    ],
    ids=["connectivity", "canary"],
)
def test_helm_test_hook(values: dict[str, Any], args: list[str]) -> None:
    (pod,) = hooks(render(values), "test")
    assert pod["kind"] == "Pod" and pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["args"] == args
    env = {e["name"]: e for e in container["env"]}
    assert env["PIIQ_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "piiq-db",
        "key": "url",
    }
    assert env["PIIQ_QUEUE_PREFIX"]["value"] == "public"
    assert pod["spec"]["restartPolicy"] == "Never"


def test_tests_can_be_switched_off() -> None:
    objs = render({"tests": {"enabled": False}})
    assert not hooks(objs, "test") and hooks(objs, "pre-install")


def database_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_migration_hook_runs_piiq_migrate_before_install_and_upgrade() -> None:
    objs = render()
    (job,) = hooks(objs, "pre-install")
    assert hooks(objs, "pre-upgrade") == [job] and job["kind"] == "Job"
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert job["spec"]["activeDeadlineSeconds"] == 300 and job["spec"]["backoffLimit"] == 1
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == "localhost/piiq:0.1.0" and container["args"] == ["migrate"]
    assert database_env(container) == {
        "PIIQ_DATABASE_URL": {"secretKeyRef": {"name": "piiq-db", "key": "url"}},
        "PIIQ_QUEUE_PREFIX": "public",
        "PIIQ_LOG_FORMAT": "json",
    }


def test_migration_hook_follows_the_values() -> None:
    values = {
        **EVERYTHING,
        "database": {"secretName": "db", "secretKey": "dsn", "queuePrefix": "q"},
    }
    (job,) = hooks(render(values), "pre-upgrade")
    # The quick-start Secret is the release's own, made after pre-install hooks run.
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert job["spec"]["activeDeadlineSeconds"] == 600
    pod = pod_spec(job)
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example.com/piiq:1.2.3"
    assert container["resources"]["limits"] == {"memory": "512Mi"}
    env = database_env(container)
    assert env["PIIQ_DATABASE_URL"] == {"secretKeyRef": {"name": "db", "key": "dsn"}}
    assert env["PIIQ_QUEUE_PREFIX"] == "q"
    assert not [o for o in render({"migrations": {"hook": False}}) if o["kind"] == "Job"]


def test_hooks_meet_the_restricted_pod_security_standard() -> None:
    """The restricted profile's rules that a manifest decides (kubernetes.io/docs/concepts/
    security/pod-security-standards): non-root, no escalation, all capabilities dropped,
    RuntimeDefault seccomp, no host namespaces or privileged containers."""
    for obj in [*hooks(render(), "pre-install"), *hooks(render(), "test")]:
        pod = pod_spec(obj)
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), obj["kind"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert not context.get("privileged")


def test_every_container_is_hardened() -> None:
    for obj, container in containers(render(EVERYTHING)):
        pod = pod_spec(obj)
        assert pod["securityContext"]["runAsUser"] == 10001, obj["metadata"]["name"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert container["resources"]["limits"]["memory"]


def test_notes_tell_the_next_commands() -> None:
    notes = render_files()["piiq/templates/NOTES.txt"]
    for command in (
        "kubectl -n piiq create secret generic piiq-db",
        "kubectl -n piiq apply -f examples/piiqueue.yaml",
        "kubectl -n piiq get piiq",
        "kubectl -n piiq logs deploy/pii-detector-events",
        "The hook Job piiq-migrate ran piiq migrate (schema public) before the install",
        "kubectl -n piiq logs job/piiq-migrate",
        "helm test piiq -n piiq",
        "kubectl -n piiq delete piiqueues --all --wait",
        "helm uninstall piiq -n piiq",
        "reads Secrets only in: piiq",
        "runs only images from: localhost/piiq",
    ):
        assert command in notes, command
    assert "kubectl -n piiq run piiq-migrate" not in notes
    quick = render_files(QUICK_START)["piiq/templates/NOTES.txt"]
    assert "kubectl create secret" not in quick and "pii-detector is installed" in quick
    assert "ran piiq migrate (schema public) after the install" in quick
    manual = render_files({"migrations": {"hook": False}})["piiq/templates/NOTES.txt"]
    assert "kubectl -n piiq run piiq-migrate" in manual and '"args":["migrate"]' in manual
    assert "hook Job" not in manual


def test_notes_name_the_image_and_how_to_override_it() -> None:
    notes = render_files()["piiq/templates/NOTES.txt"]
    assert "Image: localhost/piiq:0.1.0 runs the operator" in notes
    assert "localhost/piiq is a local build (make image)" in notes
    assert "docs/image.md" in notes and "docker build or podman build" in notes
    assert "--set image.repository=REGISTRY/piiq --set image.tag=TAG" in notes
    custom = {**QUICK_START, "image": {"repository": "registry.acme.test/piiq", "tag": "1.2.3"}}
    notes = render_files(custom)["piiq/templates/NOTES.txt"]
    assert (
        "Image: registry.acme.test/piiq:1.2.3 runs the operator and the example PIIQueue" in notes
    )
    assert "local build" not in notes


def operator_args(values: dict[str, Any]) -> list[str]:
    return chart_operator_args(render(values))


def test_image_allow_list_defaults_to_the_charts_own_repository() -> None:
    assert flag_values(operator_args({}), "--allowed-image-repository") == ["localhost/piiq"]
    custom = {"image": {"repository": "registry.example.com/piiq"}}
    assert flag_values(operator_args(custom), "--allowed-image-repository") == [
        "registry.example.com/piiq"
    ]
    listed = {"operator": {"allowedImageRepositories": ["ghcr.io/a/piiq", "registry.b/piiq/*"]}}
    assert flag_values(operator_args(listed), "--allowed-image-repository") == [
        "ghcr.io/a/piiq",
        "registry.b/piiq/*",
    ]


def test_the_slack_api_url_is_an_operator_value() -> None:
    assert flag_values(operator_args({}), "--slack-api-url") == []
    url = {"operator": {"slackApiUrl": "http://slack-sandbox.test:8080/api/"}}
    assert flag_values(operator_args(url), "--slack-api-url") == [
        "http://slack-sandbox.test:8080/api/"
    ]


def test_args_key_secret_is_generated_once_and_wired_into_the_example() -> None:
    values = {**QUICK_START, "argsEncryption": {"generate": True}}
    objs = render(values)
    (secret,) = [s for s in by_kind(objs, "Secret") if s["metadata"]["name"] == "piiq-args-key"]
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    (value,) = decoded(secret).values()
    key_id, key = value.split(":")
    assert key_id.startswith("k") and len(base64.b64decode(key)) == 32
    assert decoded(secret) != decoded(
        next(
            s for s in by_kind(render(values), "Secret") if s["metadata"]["name"] == "piiq-args-key"
        )
    )  # random per render: only lookup (an install into a cluster) keeps it
    (queue,) = by_kind(objs, "PIIQueue")
    assert queue["spec"]["argsKeySecretRef"] == {"name": "piiq-args-key", "key": "PIIQ_ARGS_KEYS"}
    assert "argsKeySecretRef" not in by_kind(render(QUICK_START), "PIIQueue")[0]["spec"]


def test_an_existing_args_key_secret_is_referenced_not_created() -> None:
    values = {**QUICK_START, "argsEncryption": {"existingSecret": "my-keys", "secretKey": "k"}}
    objs = render(values)
    assert "piiq-args-key" not in {s["metadata"]["name"] for s in by_kind(objs, "Secret")}
    (queue,) = by_kind(objs, "PIIQueue")
    assert queue["spec"]["argsKeySecretRef"] == {"name": "my-keys", "key": "k"}


def test_oauth_installs_are_one_value_for_the_example() -> None:
    values = {**QUICK_START, "slack": {"secretName": "piiq-slack", "oauthSecretName": "oauth"}}
    (queue,) = by_kind(render(values), "PIIQueue")
    assert queue["spec"]["slack"] == {
        "secretRef": {"name": "piiq-slack"},
        "oauth": {"secretRef": {"name": "oauth"}},
    }
    jsonschema.validate(queue["spec"], crd_schema()["properties"]["spec"])
    assert "oauth" not in by_kind(render(QUICK_START), "PIIQueue")[0]["spec"]["slack"]


def test_security_contexts_are_values_with_hardened_defaults() -> None:
    values = {
        "podSecurityContext": {"fsGroupChangePolicy": "OnRootMismatch", "runAsUser": 20002},
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "Localhost", "localhostProfile": "piiq.json"},
        },
    }
    objs = render(values)
    for obj, container in containers(objs):
        pod = pod_spec(obj)["securityContext"]
        assert pod["runAsUser"] == 20002 and pod["fsGroupChangePolicy"] == "OnRootMismatch"
        assert pod["runAsNonRoot"] is True  # the defaults stay under what is given
        assert container["securityContext"]["seccompProfile"]["type"] == "Localhost"
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    for obj in objs:
        kubernetes_validate.validate(obj, "1.32", strict=True)
