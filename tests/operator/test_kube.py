"""The operator's API layer: the drift check, error messages, Secrets, an unreachable server."""

from __future__ import annotations

import json
from typing import Any

import kubernetes
import pytest

from piiq_operator.kube import Kube, KubeError, api_error, matches
from tests.operator.operator_helpers import NS, Cluster


def container(resources: Any = None, env: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = {"name": "worker"}
    if resources is not None:
        result["resources"] = resources
    if env is not None:
        result["env"] = env
    return result


@pytest.mark.parametrize(
    ("desired", "actual"),
    [
        (container({"limits": {"cpu": 1}}), container({"limits": {"cpu": "1"}})),
        (container({"requests": {"cpu": "0.5"}}), container({"requests": {"cpu": "500m"}})),
        (container({"limits": {"memory": "1024Mi"}}), container({"limits": {"memory": "1Gi"}})),
        (container(env=[{"name": "X", "value": ""}]), container(env=[{"name": "X"}])),
        (container(env=[{"name": "X", "value": None}]), container(env=[{"name": "X"}])),
        ({"spec": {"selector": {}}}, {"spec": {}}),
        ({"a": {"b": ""}}, {}),
        # Server defaults the operator does not set are not drift.
        ({"spec": {"replicas": 2}}, {"spec": {"replicas": 2, "progressDeadlineSeconds": 600}}),
    ],
)
def test_matches_what_the_server_writes_back(desired: Any, actual: Any) -> None:
    assert matches(desired, actual)


@pytest.mark.parametrize(
    ("desired", "actual"),
    [
        (container({"limits": {"cpu": 2}}), container({"limits": {"cpu": "1"}})),
        (container({"limits": {"memory": "1Gi"}}), container({"limits": {"memory": "1G"}})),
        (container(env=[{"name": "X", "value": "0"}]), container(env=[{"name": "X"}])),
        ({"flag": True}, {"flag": 1}),  # a bool is no quantity
        ({"flag": False}, {"flag": 0}),
        ({"image": "piiq:1"}, {"image": "piiq:2"}),
        ({"spec": {"replicas": 2}}, {"spec": {"replicas": 1}}),
        ({"ports": [{"name": "a"}]}, {"ports": [{"name": "a"}, {"name": "b"}]}),
        ({"a": {"b": "x"}}, {}),
    ],
)
def test_matches_sees_real_drift(desired: Any, actual: Any) -> None:
    assert not matches(desired, actual)


def refused(status: int, body: Any) -> kubernetes.client.ApiException:
    exc = kubernetes.client.ApiException(status=status, reason="Reason")
    exc.body = body
    return exc


def test_a_refused_request_says_what_the_server_said() -> None:
    body = json.dumps({"kind": "Status", "message": 'Deployment.apps "pii-events" is invalid'})
    error = api_error("applying Deployment ns/pii-events", refused(422, body))
    assert str(error) == (
        "applying Deployment ns/pii-events failed: HTTP 422 Reason: "
        'Deployment.apps "pii-events" is invalid'
    )
    assert error.status == 422 and not error.forbidden


@pytest.mark.parametrize(
    ("status", "body"), [(403, json.dumps({"message": "forbidden: no"})), (500, "x"), (422, "x")]
)
def test_other_errors_name_the_call_and_status_only(status: int, body: str) -> None:
    error = api_error("listing Deployments in ns", refused(status, body))
    assert str(error) == f"listing Deployments in ns failed: HTTP {status} Reason"
    assert error.forbidden is (status == 403)


async def test_a_binary_secret_value_is_read_as_bytes(cluster: Cluster) -> None:
    body = {
        "metadata": {"name": "mixed", "namespace": NS},
        "data": {"url": "cG9zdGdyZXM6Ly94", "keystore": "/w=="},  # b"postgres://x", b"\xff"
    }
    await cluster.call(cluster.core.create_namespaced_secret, NS, body)
    kube = Kube(kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig)))
    assert await kube.read_secret(NS, "mixed") == {"url": b"postgres://x", "keystore": b"\xff"}
    assert await kube.read_secret(NS, "absent") is None


async def test_a_configmap_is_read_with_its_binary_keys(cluster: Cluster) -> None:
    body = {
        "metadata": {"name": "detection", "namespace": NS},
        "data": {"policy.yaml": "entities: {}\n"},
        "binaryData": {"blob": "/w=="},
    }
    await cluster.call(cluster.core.create_namespaced_config_map, NS, body)
    kube = Kube(kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig)))
    assert await kube.read_configmap(NS, "detection") == {
        "policy.yaml": "entities: {}\n",
        "blob": "/w==",
    }
    assert await kube.read_configmap(NS, "absent") is None


async def test_an_unreachable_server_is_a_kube_error() -> None:
    configuration = kubernetes.client.Configuration(host="http://127.0.0.1:1")
    configuration.retries = 0
    kube = Kube(kubernetes.client.ApiClient(configuration))
    with pytest.raises(KubeError, match=r"reading Secret ns/db failed: MaxRetryError") as caught:
        await kube.read_secret("ns", "db")
    assert caught.value.status is None
    with pytest.raises(KubeError, match="listing Deployments in ns failed"):
        await kube.list_children("ns", "uid", "pii")
