"""examples/*.yaml: PIIQueues against the CRD schema, the rest against Kubernetes' schemas."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from piiq_operator.spec import parse_spec
from tests.support.helm_chart import ROOT, crd_schema

MANIFESTS = [
    path
    for path in sorted((ROOT / "examples").glob("*.yaml"))
    if any(isinstance(d, dict) and "apiVersion" in d for d in yaml.safe_load_all(path.read_text()))
]


def test_the_examples_include_a_piiqueue_and_its_secrets() -> None:
    names = {path.name for path in MANIFESTS}
    assert {"piiqueue.yaml", "piiq-secrets.example.yaml"} <= names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_example_manifests_are_valid(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc["kind"] == "PIIQueue":
            jsonschema.validate(doc, crd_schema())
            parse_spec(doc["metadata"]["name"], doc["spec"])  # what the CRD cannot express
        else:
            kubernetes_validate.validate(doc, "1.32", strict=True)
