"""Point 3: every schema constraint and CEL rule of the PIIQueue CRD, as the API server
enforces it at `kubectl apply`. The constraints are read from the CRD itself, so a rule
added to the CRD is tested here or this test says it is not."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support.cluster.harness import Cluster
from tests.support.cluster.suite import NAMESPACE, REPO

CRD_FILE = REPO / "charts" / "piiq" / "crds" / "piiqueues.piiq.dev.yaml"
SCHEMA = yaml.safe_load(CRD_FILE.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

# A PIIQueue that sets every field the schema constrains (so each constraint has a value
# to break); accepted as a whole.
FULL_SPEC: dict[str, Any] = {
    "image": "localhost/piiq:0.1.0",
    "imagePullPolicy": "IfNotPresent",
    "queues": {"events": 4, "default": 2},
    "concurrencyPerPod": 2,
    "cron": [
        {
            "expression": "*/5 * * * *",
            "worker": "piiq.canary.Canary",
            "queue": "default",
            "args": {},
            "priority": 1,
            "name": "canary",
        }
    ],
    "queuePrefix": "public",
    "database": {"secretRef": {"name": "piiq-db", "key": "url"}},
    "slack": {
        "secretRef": {"name": "piiq-slack"},
        "exemptChannels": ["C0RANDOM"],
        "adminChannel": "C0ADMINS",
        "oauth": {
            "secretRef": {"name": "piiq-slack-oauth"},
            "redirectUri": "https://piiq.example.com/slack/oauth_redirect",
            "scopes": ["channels:history", "chat:write"],
            "userScopes": ["chat:write"],
            "replicas": 1,
        },
    },
    "pruner": {"maxAge": "7d"},
    "lifeline": {"rescueAfter": "30m"},
    "maintenance": {"enabled": True, "schedule": "*/5 * * * *"},
    "ingress": {"enabled": True, "replicas": 1, "service": {"type": "ClusterIP", "port": 80}},
    "autoscaling": {
        "enabled": True,
        "targetBacklogPerPod": 50,
        "scaleDownDelay": "5m",
        "queues": {"events": {"minReplicas": 1, "maxReplicas": 2, "targetBacklogPerPod": 10}},
    },
    "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
    "disruptionBudget": {"enabled": True, "maxUnavailable": 1},
    "networkPolicy": {
        "enabled": True,
        "database": {"port": 5432, "to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
        "ingressFrom": [{"namespaceSelector": {}}],
        "metricsFrom": [{"podSelector": {}}],
    },
    "imagePullSecrets": [{"name": "registry"}],
    "podLabels": {"team": "security"},
    "priorityClassName": "piiq-high",
    "serviceAccountName": "piiq-workers",
    "env": [{"name": "PIIQ_LOG_LEVEL", "value": "info"}],
    "argsKeySecretRef": {"name": "piiq-args-key", "key": "PIIQ_ARGS_KEYS"},
    "audit": {"secretRef": {"name": "piiq-audit"}},
    "detection": {
        "policyConfigMap": {
            "name": "piiq-detection",
            "policyKey": "policy.yaml",
            "recognizersKey": "recognizers.yaml",
        }
    },
}

# Each CEL rule of the CRD (by its message) and a change to FULL_SPEC that breaks it.
CEL_BREAKS: dict[str, Any] = {
    "autoscaling.queues.<queue>.maxReplicas must not be above": lambda s: s["autoscaling"][
        "queues"
    ]["events"].update(maxReplicas=5, minReplicas=1),
    "autoscaling.queues.<queue>.minReplicas must not be above": lambda s: s["autoscaling"][
        "queues"
    ].update(default={"minReplicas": 3}),
    "queue names use lowercase letters": lambda s: s["queues"].update({"Events!": 1}),
    "cron[].queue must be a queue of spec.queues": lambda s: s["cron"][0].update(queue="other"),
    "minReplicas must not be above maxReplicas": lambda s: s["autoscaling"]["queues"][
        "events"
    ].update(minReplicas=2, maxReplicas=1),
    "podLabels keys under app.kubernetes.io/ and piiq.dev/": lambda s: s["podLabels"].update(
        {"piiq.dev/queue": "x"}
    ),
}


def piiqueue(spec: dict[str, Any], name: str = "crd-rules") -> str:
    return json.dumps(
        {
            "apiVersion": "piiq.dev/v1alpha1",
            "kind": "PIIQueue",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": spec,
        }
    )


def apply(cluster: Cluster, spec: dict[str, Any]) -> str:
    """`kubectl apply --dry-run=server`: the API server's whole admission, nothing stored.
    Returns "" when accepted, else kubectl's error."""
    result = cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", stdin=piiqueue(spec), check=False
    )
    return "" if result.returncode == 0 else result.stderr


def at(spec: Any, path: list[str | int]) -> Any:
    for part in path:
        spec = spec[part]
    return spec


def break_value(schema: dict[str, Any], keyword: str, value: Any) -> tuple[Any, str]:
    """A value violating ``keyword`` of ``schema``, and the API server's words for it."""
    bound = schema[keyword]
    if keyword == "pattern":
        bad = next(v for v in ("!!", "has space", "") if not re.search(bound, v))
        return bad, "should match"
    if keyword == "enum":
        return "NotOneOfThem", "Unsupported value"
    if keyword == "minimum":
        return bound - 1, f"should be greater than or equal to {bound}"
    if keyword == "maximum":
        return bound + 1, f"should be less than or equal to {bound}"
    if keyword == "minLength":
        return "", f"should be at least {bound} chars long"
    if keyword == "maxLength":
        return "x" * (bound + 1), "Too long"
    if keyword == "maxItems":
        return [value[0]] * (bound + 1), f"must have at most {bound} items"
    if keyword == "minProperties":
        return {}, f"at least {bound}"
    if keyword == "maxProperties":
        first = next(iter(value.values()))
        return {f"q{i}": copy.deepcopy(first) for i in range(bound + 1)}, (
            f"must have at most {bound} items"
        )
    raise AssertionError(f"no way to break {keyword}")


SCALAR_KEYWORDS = ("pattern", "enum", "minimum", "maximum", "minLength", "maxLength")
OBJECT_KEYWORDS = ("maxItems", "minProperties", "maxProperties")
# Schema keywords that constrain nothing a spec could break, or are walked into.
NOT_CONSTRAINTS = {
    "type", "description", "default", "properties", "additionalProperties", "items",
    "x-kubernetes-validations", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
    "anyOf",
}  # fmt: skip


def constraints(
    schema: dict[str, Any], path: list[str | int]
) -> Iterator[tuple[list[str | int], str, dict[str, Any]]]:
    """(path under spec, keyword, schema) for every constraint the CRD puts under spec; a
    keyword this test cannot break fails it, so a new kind of rule is never left untested."""
    unknown = set(schema) - NOT_CONSTRAINTS - {*SCALAR_KEYWORDS, *OBJECT_KEYWORDS, "required"}
    assert not unknown, f"spec.{'.'.join(map(str, path))}: teach this test {sorted(unknown)}"
    for keyword in (*SCALAR_KEYWORDS, *OBJECT_KEYWORDS, "required"):
        if keyword in schema:
            yield path, keyword, schema
    for key, child in (schema.get("properties") or {}).items():
        yield from constraints(child, [*path, key])
    if isinstance(schema.get("additionalProperties"), dict):
        yield from constraints(schema["additionalProperties"], [*path, "*"])
    if "items" in schema:
        yield from constraints(schema["items"], [*path, 0])


def concrete(spec: Any, path: list[str | int]) -> list[str | int]:
    """``path`` with each ``*`` (a map's values) replaced by the first key FULL_SPEC has."""
    result: list[str | int] = []
    for part in path:
        if part == "*":
            part = next(iter(at(spec, result)))
        result.append(part)
    return result


SPEC_CONSTRAINTS = list(constraints(SCHEMA["properties"]["spec"], []))


def test_the_full_spec_is_accepted(installed: Cluster) -> None:
    assert apply(installed, FULL_SPEC) == ""


@pytest.mark.parametrize(
    ("path", "keyword", "schema"),
    SPEC_CONSTRAINTS,
    ids=[f"{'.'.join(map(str, p)) or 'spec'}:{k}" for p, k, _ in SPEC_CONSTRAINTS],
)
def test_each_schema_constraint_is_enforced(
    installed: Cluster, path: list[str | int], keyword: str, schema: dict[str, Any]
) -> None:
    spec = copy.deepcopy(FULL_SPEC)
    try:
        where = concrete(spec, path)
        value = at(spec, where)
    except (KeyError, IndexError, StopIteration):
        pytest.fail(f"FULL_SPEC sets nothing at spec.{'.'.join(map(str, path))}: add it")
    if keyword == "required":
        for field in schema["required"]:
            broken = copy.deepcopy(spec)
            del at(broken, where)[field]
            error = apply(installed, broken)
            assert "Required value" in error and field in error, (field, error)
        return
    bad, words = break_value(schema, keyword, value)
    if where:
        at(spec, where[:-1])[where[-1]] = bad
    else:
        spec = bad
    error = apply(installed, spec)
    assert words in error, error
    assert f"spec.{'.'.join(map(str, where))}".rstrip(".") in error.replace("[", ".").replace(
        "]", ""
    ), error


@pytest.mark.parametrize("message", sorted(CEL_BREAKS))
def test_each_cel_rule_rejects_with_its_own_message(installed: Cluster, message: str) -> None:
    spec = copy.deepcopy(FULL_SPEC)
    CEL_BREAKS[message](spec)
    assert message in apply(installed, spec)


def test_every_cel_rule_of_the_crd_is_tested() -> None:
    def messages(schema: dict[str, Any]) -> Iterator[str]:
        for rule in schema.get("x-kubernetes-validations") or []:
            yield rule["message"]
        for child in (schema.get("properties") or {}).values():
            yield from messages(child)
        if isinstance(schema.get("additionalProperties"), dict):
            yield from messages(schema["additionalProperties"])
        if "items" in schema:
            yield from messages(schema["items"])

    found = list(messages(SCHEMA))
    assert found
    for message in found:
        assert any(message.startswith(known) for known in CEL_BREAKS), message
