"""Spec validation (messages a person can act on) and the CRD schema that mirrors it."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml

from piiq_operator.spec import ALLOWED_ENV, PolicyConfigMap, SpecError, parse_spec
from tests.operator.operator_helpers import EXAMPLE_PATH, piiqueue


def spec(**changes: Any) -> dict[str, Any]:
    return piiqueue("pii", **changes)["spec"]


def problems(name: str, body: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(name, body)
    return caught.value.problems


def test_minimal_spec_gets_the_documented_defaults() -> None:
    parsed = parse_spec("pii", spec(concurrencyPerPod=None))
    assert parsed.concurrency_per_pod == 10
    assert parsed.database.key == "url"
    assert (parsed.maintenance.prune_max_age, parsed.maintenance.rescue_after) == ("7d", "30m")
    assert parsed.maintenance.schedule == "*/5 * * * *"
    assert not parsed.ingress.enabled and not parsed.autoscaling.enabled


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            spec(queues={"events": 0}),
            "spec.queues.events is 0: set a number from 1 to 1000",
        ),
        (spec(queues={"events": "many"}), "spec.queues.events must be a whole number, not 'many'"),
        (spec(database={}), "spec.database.secretRef is required: name the Secret in this"),
        (spec(slack=None), "spec.slack is required: name the Secret holding the Slack tokens"),
        (
            spec(imagePullPolicy="Sometimes"),
            "'Sometimes' is not one of Always, IfNotPresent, Never",
        ),
        (
            spec(queues={f"q{i}": 1 for i in range(21)}),
            "spec.queues has 21 entries: at most 20 are allowed",
        ),
        (
            spec(autoscaling={"scaleDownDelay": "0s"}),
            "spec.autoscaling.scaleDownDelay: duration '0s' must be more than zero",
        ),
        (spec(queues={"Events!": 5}), "queue name 'Events!' is not a valid name"),
        (spec(queues={"a_b": 1, "a-b": 1}), "queues 'a_b' and 'a-b' would share the Deployment"),
        (spec(queues={}), "spec.queues is empty: name at least one queue"),
        (spec(replicas=3), "spec.replicas is not a known field: remove it"),
        (
            spec(pruner={"maxAge": "a week"}),
            "spec.pruner.maxAge 'a week' is not valid: use a number with a unit s, m, h, d or w",
        ),
        (spec(database={"secretRef": {}}), "spec.database.secretRef.name is required"),
        (spec(concurrencyPerPod="8"), "spec.concurrencyPerPod must be a whole number, not '8'"),
        (spec(env=[{"name": "PIIQ_DATABASE_URL", "value": "x"}]), "is set by the operator"),
        (
            spec(autoscaling={"queues": {"nope": {}}}),
            "spec.autoscaling.queues.nope names no queue of spec.queues",
        ),
        (
            spec(autoscaling={"queues": {"events": {"minReplicas": 5, "maxReplicas": 2}}}),
            "minReplicas 5 is above maxReplicas 2",
        ),
        (
            spec(queues={"events": 4}, autoscaling={"queues": {"events": {"maxReplicas": 5}}}),
            "spec.autoscaling.queues.events.maxReplicas is 5, above the queue's concurrency 4 "
            "(every pod runs at least one job): set it to at most 4 or raise spec.queues.events",
        ),
        (
            spec(
                queues={"events": 2},
                autoscaling={"queues": {"events": {"minReplicas": 3, "maxReplicas": 3}}},
            ),
            "spec.autoscaling.queues.events.minReplicas is 3, above the queue's concurrency 2",
        ),
        (
            spec(lifeline={"rescueAfter": "30s"}),
            "spec.lifeline.rescueAfter is 30s: set at least 1m (rescuing jobs that are still "
            "running runs them twice)",
        ),
        (spec(pruner={"maxAge": "0.5m"}), "spec.pruner.maxAge is 0.5m: set at least 1m"),
        (spec(tolerations=["dedicated"]), "spec.tolerations[0] must be an object, not 'dedicated'"),
        (
            spec(tolerations=[{"key": "a", "operator": "Maybe"}]),
            "spec.tolerations[0].operator 'Maybe' is not one of Exists, Equal",
        ),
        (spec(resources=["cpu"]), "spec.resources must be an object, not ['cpu']"),
        (spec(resources={"limits": "1"}), "spec.resources.limits must be an object, not '1'"),
        (
            spec(resources={"limits": {"cpu": "lots"}}),
            "spec.resources.limits.cpu 'lots' is not a quantity: use a whole number or a string "
            "such as 500m, 1 or 512Mi",
        ),
        (
            spec(ingress={"resources": {"requests": {"memory": 0.5}}}),
            "spec.ingress.resources.requests.memory 0.5 is not a quantity",
        ),
        (
            spec(maintenance={"resources": {"limit": {}}}),
            "spec.maintenance.resources.limit is not a known field",
        ),
        (
            spec(detection={"policyConfigMap": {"policyKey": "policy.yaml"}}),
            "spec.detection.policyConfigMap.name is required: name the ConfigMap in this "
            "namespace holding the detection policy",
        ),
        (
            spec(detection={"policyConfigMap": {"name": "Policy_1"}}),
            "spec.detection.policyConfigMap.name 'Policy_1' is not valid",
        ),
        (
            spec(detection={"policyConfigMap": {"name": "p", "recognizersKey": "a b"}}),
            "spec.detection.policyConfigMap.recognizersKey 'a b' is not valid: a ConfigMap key",
        ),
        (
            spec(detection={"policyConfigMap": {"name": "p", "recognizersKey": "policy.yaml"}}),
            "spec.detection.policyConfigMap: policyKey and recognizersKey both name 'policy.yaml'",
        ),
        (spec(detection={"policy": "strict"}), "spec.detection.policy is not a known field"),
    ],
)
def test_invalid_specs_name_the_value_and_the_fix(body: dict[str, Any], expected: str) -> None:
    found = problems("pii", body)
    assert any(expected in p for p in found), found


def test_autoscaling_bounds_up_to_the_concurrency_and_one_minute_are_accepted() -> None:
    parsed = parse_spec(
        "pii",
        spec(
            queues={"events": 4},
            autoscaling={"queues": {"events": {"minReplicas": 4, "maxReplicas": 4}}},
            lifeline={"rescueAfter": "1m"},
            pruner={"maxAge": "60s"},
            resources={"limits": {"cpu": 1, "memory": "1Gi"}},
            tolerations=[{"key": "a", "operator": "Exists", "tolerationSeconds": 30}],
        ),
    )
    assert parsed.autoscaling.queues["events"].max_replicas == 4
    assert parsed.resources == {"limits": {"cpu": 1, "memory": "1Gi"}}
    assert parsed.tolerations == [{"key": "a", "operator": "Exists", "tolerationSeconds": 30}]


def test_every_problem_is_reported_at_once() -> None:
    found = problems("Bad_Name", spec(queues={"events": 0}, image=None, bogus=1))
    assert len(found) == 4, found


def test_crd_names_columns_and_status_subresource(crd: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == "piiqueues.piiq.dev"
    assert crd["spec"]["names"]["shortNames"] == ["piiq"]
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Queues", "Workers", "Backlog", "Paused", "Ready", "Reason", "Age"]
    assert columns["Paused"] == {  # `-o wide` only
        **columns["Paused"],
        "jsonPath": ".status.paused",
        "priority": 1,
    }
    ready = '.status.conditions[?(@.type=="Ready")]'
    assert columns["Ready"]["jsonPath"] == f"{ready}.status"
    assert columns["Reason"]["jsonPath"] == f"{ready}.reason"  # why not Ready
    assert columns["Reason"]["type"] == "string"


def test_example_is_valid_for_the_crd_and_the_operator(crd_schema: dict[str, Any]) -> None:
    example = yaml.safe_load(EXAMPLE_PATH.read_text())
    jsonschema.validate(example, crd_schema)
    parsed = parse_spec(example["metadata"]["name"], example["spec"])
    assert parsed.queues == {"default": 10, "events": 20, "pii_detection": 5}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("queues", "events"), 0),
        (("concurrencyPerPod",), 0),
        (("pruner", "maxAge"), "a week"),
        (("ingress", "service", "type"), "Ingress"),
        (("detection", "policyConfigMap", "name"), "Policy_1"),
    ],
)
def test_crd_schema_rejects_what_the_operator_rejects(
    crd_schema: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    body = copy.deepcopy(piiqueue("pii"))
    target = body["spec"]
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, crd_schema)
    with pytest.raises(SpecError):
        parse_spec("pii", body["spec"])


def test_crd_bounds_autoscaling_by_the_queue_concurrency(crd_schema: dict[str, Any]) -> None:
    """jsonschema cannot run CEL: check the rule is there and names both bounds."""
    spec_schema = crd_schema["properties"]["spec"]
    rules = [r["rule"] for r in spec_schema.get("x-kubernetes-validations", [])]
    assert any("maxReplicas <= self.queues[q]" in r for r in rules), rules
    assert any("minReplicas <= self.queues[q]" in r for r in rules), rules
    # CEL cost estimation needs a bound on what the rule iterates.
    assert spec_schema["properties"]["autoscaling"]["properties"]["queues"]["maxProperties"] == 20


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Where the bot and admin tokens are sent: an operator setting, never a PIIQueue's.
        ("PIIQ_SLACK_API_URL", "PIIQ_SLACK_API_URL is set by the operator from the operator's "
         "installer (chart value operator.slackApiUrl)"),
        ("PIIQ_DRY_RUN", "PIIQ_DRY_RUN may not be set by a PIIQueue (it switches deletion and "
         "notices off): remove it from env"),
        ("PIIQ_EXEMPT_CHANNELS", "PIIQ_EXEMPT_CHANNELS is set by the operator from "
         "spec.slack.exemptChannels"),
        ("PIIQ_POLICY_FILE", "PIIQ_POLICY_FILE is set by the operator from "
         "spec.detection.policyConfigMap"),
        ("PIIQ_RECOGNIZERS_FILE", "PIIQ_RECOGNIZERS_FILE is set by the operator from "
         "spec.detection.policyConfigMap.recognizersKey"),
        ("PIIQ_ARGS_KEYS", "PIIQ_ARGS_KEYS is set by the operator from spec.argsKeySecretRef"),
        ("PIIQ_SOMETHING_NEW", "PIIQ_SOMETHING_NEW is not among the extra env a PIIQueue may "
         "set (PIIQ_LOG_LEVEL, PIIQ_NOTIFY"),
        ("LD_PRELOAD", "LD_PRELOAD is not among the extra env a PIIQueue may set"),
        ("HTTPS_PROXY", "HTTPS_PROXY is not among the extra env a PIIQueue may set"),
    ],
)  # fmt: skip
def test_env_outside_the_allow_list_is_refused_naming_it(name: str, expected: str) -> None:
    (found,) = problems("pii", spec(env=[{"name": name, "value": "x"}]))
    assert found.startswith("spec.env[0]: ") and expected in found, found


def test_allowed_env_passes_and_the_crd_enum_is_the_allow_list(
    crd_schema: dict[str, Any],
) -> None:
    env = [{"name": name, "value": "1"} for name in ALLOWED_ENV]
    assert parse_spec("pii", spec(env=env)).env == env
    name = crd_schema["properties"]["spec"]["properties"]["env"]["items"]["properties"]["name"]
    assert name["enum"] == list(ALLOWED_ENV)
    with pytest.raises(jsonschema.ValidationError):
        body = piiqueue("pii", env=[{"name": "PIIQ_SLACK_API_URL", "value": "https://evil/"}])
        jsonschema.validate(body, crd_schema)


def test_the_detection_configmap_defaults_its_policy_key() -> None:
    assert parse_spec("pii", spec()).policy_config_map is None
    parsed = parse_spec("pii", spec(detection={"policyConfigMap": {"name": "piiq-detection"}}))
    assert parsed.policy_config_map == PolicyConfigMap("piiq-detection", "policy.yaml", "")
    assert parse_spec("pii", spec(detection={})).policy_config_map is None


def test_args_key_secret_ref_defaults_its_key() -> None:
    parsed = parse_spec("pii", spec(argsKeySecretRef={"name": "piiq-args-key"}))
    assert parsed.args_key is not None
    assert (parsed.args_key.name, parsed.args_key.key) == ("piiq-args-key", "PIIQ_ARGS_KEYS")
    assert parse_spec("pii", spec()).args_key is None
    (found,) = problems("pii", spec(argsKeySecretRef={"name": "Bad Name"}))
    assert "spec.argsKeySecretRef.name 'Bad Name' is not valid" in found


def test_slack_channels_are_fields_with_channel_ids() -> None:
    slack = {"secretRef": {"name": "s"}, "exemptChannels": ["C0RANDOM"], "adminChannel": "C0ADM"}
    parsed = parse_spec("pii", spec(slack=slack))
    assert parsed.slack.exempt_channels == ("C0RANDOM",) and parsed.slack.admin_channel == "C0ADM"
    bad = {"secretRef": {"name": "s"}, "exemptChannels": ["#random"], "adminChannel": "x"}
    found = problems("pii", spec(slack=bad))
    assert found == [
        "spec.slack.exemptChannels[0] '#random' is not a channel ID: use the ID Slack shows in "
        "the channel's details, e.g. C0123ABCD",
        "spec.slack.adminChannel 'x' is not a channel ID: use the ID Slack shows in the "
        "channel's details, e.g. C0123ABCD",
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"podLabels": {"app.kubernetes.io/instance": "other"}},
            "spec.podLabels.app.kubernetes.io/instance: labels under app.kubernetes.io/ and "
            "piiq.dev/ are the operator's (its selectors use them): choose another key",
        ),
        ({"podLabels": {"team": "a b"}}, "spec.podLabels.team 'a b' is not a valid label value"),
        ({"podLabels": {"bad key!": "x"}}, "spec.podLabels: 'bad key!' is not a valid label key"),
        ({"imagePullSecrets": [{}]}, "spec.imagePullSecrets[0].name is required"),
        ({"priorityClassName": "High"}, "spec.priorityClassName 'High' is not valid"),
        ({"serviceAccountName": "a_b"}, "spec.serviceAccountName 'a_b' is not valid"),
        ({"topologySpreadConstraints": ["zone"]}, "spec.topologySpreadConstraints[0] must be"),
        ({"affinity": []}, "spec.affinity must be an object"),
    ],
)
def test_pod_settings_are_checked(changes: dict[str, Any], expected: str) -> None:
    found = problems("pii", spec(**changes))
    assert any(expected in p for p in found), found


def test_the_crd_refuses_operator_pod_labels(crd_schema: dict[str, Any]) -> None:
    labels = crd_schema["properties"]["spec"]["properties"]["podLabels"]
    (rule,) = labels["x-kubernetes-validations"]
    assert "app.kubernetes.io/" in rule["rule"] and "piiq.dev/" in rule["rule"]
