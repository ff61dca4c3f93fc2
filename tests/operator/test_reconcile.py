"""``reconcile`` with a stand-in Kube: failures become a Degraded status, never a crash."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest

from piiq_operator.kube import ChildKey, KubeError, Manifest
from piiq_operator.reconcile import Outcome, reconcile
from tests.operator.operator_helpers import TEST_POLICY, piiqueue

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
SECRETS = {
    "piiq-db": {"url": b"postgresql://nobody@127.0.0.1:1/none"},
    "piiq-slack": {"bot-token": b"xoxb-test", "signing-secret": b"s3cr3t"},
}


class FakeKube:
    """Secrets from a dict; applies fail for the names in ``refuse``."""

    def __init__(self, refuse: dict[str, KubeError] | None = None) -> None:
        self.refuse = refuse or {}
        self.applied: list[str] = []

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        return SECRETS.get(name)

    async def list_children(self, *_: Any) -> dict[ChildKey, Manifest]:
        return {}

    async def read(self, *_: Any) -> Manifest | None:
        return None

    async def apply(self, manifest: Manifest) -> None:
        name = manifest["metadata"]["name"]
        if name in self.refuse:
            raise self.refuse[name]
        self.applied.append(name)

    async def delete(self, *_: Any) -> None:
        pass


def body(**spec: Any) -> dict[str, Any]:
    result = piiqueue("pii", {"events": 8}, **spec)
    result["metadata"].update(uid="uid-1", generation=1)
    return result


def degraded(outcome: Outcome) -> dict[str, Any]:
    found = [c for c in outcome.status["conditions"] if c["type"] == "Degraded"]
    assert found[0]["status"] == "True", found
    return found[0]


async def test_an_unexpected_exception_is_an_internal_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(FakeKube):
        async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
            raise RuntimeError("a bug")

    with caplog.at_level(logging.ERROR, logger="piiq_operator.reconcile"):
        outcome = await reconcile(body(), Broken(), NOW, TEST_POLICY)  # type: ignore[arg-type]
    condition = degraded(outcome)
    assert condition["reason"] == "InternalError"
    assert "RuntimeError" in condition["message"] and "operator logs" in condition["message"]
    assert [e.reason for e in outcome.events] == ["InternalError"]
    assert "reconciling PIIQueue default/pii failed" in caplog.text
    assert "RuntimeError: a bug" in caplog.text  # the traceback is logged


async def test_a_refused_apply_reports_the_server_message_and_what_was_applied() -> None:
    refusal = KubeError(
        "applying Deployment default/pii-events failed: HTTP 422 Unprocessable Entity: "
        "spec.template.spec.containers[0].resources.limits: Invalid value",
        422,
    )
    kube = FakeKube({"pii-events": refusal})
    outcome = await reconcile(body(), kube, NOW, TEST_POLICY)  # type: ignore[arg-type]
    condition = degraded(outcome)
    assert condition["reason"] == "ApiError"
    assert "resources.limits: Invalid value" in condition["message"]
    assert "RBAC" not in condition["message"]
    assert kube.applied == ["pii-maintenance"]
    assert outcome.applied == [("CronJob", "pii-maintenance")]
    assert [e.reason for e in outcome.events] == ["Applied", "ApiError"]


async def test_only_a_forbidden_call_suggests_rbac() -> None:
    kube = FakeKube({"pii-events": KubeError("applying ... failed: HTTP 403 Forbidden", 403)})
    outcome = await reconcile(body(), kube, NOW, TEST_POLICY)  # type: ignore[arg-type]
    assert "check the operator's RBAC" in degraded(outcome)["message"]


async def test_a_binary_database_url_is_named_not_crashed_on() -> None:
    class Binary(FakeKube):
        async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
            return {"url": b"\xff\xfe"} if name == "piiq-db" else SECRETS[name]

    condition = degraded(await reconcile(body(), Binary(), NOW, TEST_POLICY))  # type: ignore[arg-type]
    assert condition["reason"] == "SecretKeyInvalid"
    assert "Secret 'piiq-db' key 'url' is not UTF-8 text" in condition["message"]


async def test_a_toleration_that_is_no_object_is_an_invalid_spec() -> None:
    outcome = await reconcile(body(tolerations=["dedicated"]), FakeKube(), NOW, TEST_POLICY)  # type: ignore[arg-type]
    condition = degraded(outcome)
    assert condition["reason"] == "InvalidSpec"
    assert "spec.tolerations[0] must be an object, not 'dedicated'" in condition["message"]
