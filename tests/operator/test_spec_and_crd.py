"""Spec validation (messages a person can act on) and the CRD schema that mirrors it."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml
from operator_helpers import EXAMPLE_PATH, piiqueue

from piiq_operator.spec import DEFAULTS, SpecError, parse_spec


def spec(**changes: Any) -> dict[str, Any]:
    return piiqueue("pii", **changes)["spec"]


def problems(name: str, body: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(name, body)
    return caught.value.problems


def test_minimal_spec_gets_the_documented_defaults() -> None:
    parsed = parse_spec("pii", spec(concurrencyPerPod=None))
    assert parsed.concurrency_per_pod == DEFAULTS["concurrencyPerPod"] == 10
    assert parsed.database.key == "url"
    assert (parsed.maintenance.prune_max_age, parsed.maintenance.rescue_after) == ("7d", "30m")
    assert parsed.maintenance.schedule == "*/5 * * * *"
    assert not parsed.ingress.enabled and not parsed.autoscaling.enabled


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            spec(queues={"events": 0}),
            "spec.queues.events: concurrency 0 is out of range: set 1 to 1000",
        ),
        (spec(queues={"Events!": 5}), "queue name 'Events!' is not a valid name"),
        (spec(queues={"a_b": 1, "a-b": 1}), "queues 'a_b' and 'a-b' would share the Deployment"),
        (spec(queues={}), "spec.queues is empty: name at least one queue"),
        (spec(replicas=3), "spec.replicas is not a known field: remove it"),
        (spec(pruner={"maxAge": "a week"}), "spec.pruner.maxAge 'a week' is not valid"),
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
    ],
)
def test_invalid_specs_name_the_value_and_the_fix(body: dict[str, Any], expected: str) -> None:
    found = problems("pii", body)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems("Bad_Name", spec(queues={"events": 0}, image=None, bogus=1))
    assert len(found) == 4, found


def _defaults(schema: dict[str, Any], path: str = "") -> dict[str, Any]:
    found = {}
    if "default" in schema:
        found[path] = schema["default"]
    for key, sub in (schema.get("properties") or {}).items():
        found |= _defaults(sub, f"{path}.{key}" if path else key)
    if isinstance(schema.get("additionalProperties"), dict):
        found |= _defaults(schema["additionalProperties"], f"{path}.*")
    return found


def test_crd_defaults_are_the_operators_defaults(crd_schema: dict[str, Any]) -> None:
    assert _defaults(crd_schema["properties"]["spec"]) == DEFAULTS


def test_crd_names_columns_and_status_subresource(crd: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == "piiqueues.piiq.dev"
    assert crd["spec"]["names"]["shortNames"] == ["piiq"]
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Queues", "Workers", "Backlog", "Ready", "Age"]


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
