"""spec.detection.policyConfigMap with the operator in-process (real kopf) against the
Kubernetes emulator: a missing ConfigMap or key is Degraded naming it; once there, the
workers mount it and a change to its keys rolls them."""

from __future__ import annotations

from typing import Any

from piiq_operator.manifests import DETECTION_HASH
from tests.operator.operator_helpers import DEPLOYMENTS, Cluster, eventually, piiqueue

DETECTION = {"policyConfigMap": {"name": "piiq-detection", "recognizersKey": "recognizers.yaml"}}
POLICY = "entities:\n  PERSON: {warn: 0.9}\n"
RECOGNIZERS = "recognizers: []\n"


def degraded(cluster: Cluster, reason: str) -> str:
    condition = cluster.condition("pii", "Degraded")
    assert condition["status"] == "True" and condition["reason"] == reason, condition
    return str(condition["message"])


def template(cluster: Cluster) -> dict[str, Any]:
    return dict(cluster.get(DEPLOYMENTS, "pii-events")["spec"]["template"])


def config_hash(cluster: Cluster) -> str:
    return str(template(cluster)["metadata"]["annotations"][DETECTION_HASH])


CONFIGMAP_READS = "GET configmaps"


def read_since(cluster: Cluster, reads: int) -> None:
    assert cluster.emulator.served[CONFIGMAP_READS] >= reads, "the operator has not read it"


def changed_from(cluster: Cluster, before: str) -> str:
    now = config_hash(cluster)
    assert now != before, "the workers' pod template did not change"
    return now


async def test_the_detection_configmap_is_checked_mounted_and_rolls_the_workers(
    operator: Cluster,
) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"events": 8}, detection=DETECTION))
    message = await eventually(lambda: degraded(cluster, "ConfigMapMissing"))
    assert message == (
        "ConfigMap 'piiq-detection' (spec.detection.policyConfigMap) does not exist in "
        "namespace 'default': create it with the detection policy YAML under key "
        "'policy.yaml' and the custom recognizers YAML under key 'recognizers.yaml'"
    )
    assert cluster.names(DEPLOYMENTS) == set()  # no worker runs with the image's policy

    await cluster.configmap("piiq-detection", {"policy.yaml": POLICY})
    message = await eventually(lambda: degraded(cluster, "ConfigMapKeyMissing"))
    assert message == (
        "ConfigMap 'piiq-detection' has no key 'recognizers.yaml': add the custom recognizers "
        "YAML under it or set spec.detection.policyConfigMap.recognizersKey"
    )

    await cluster.patch_configmap("piiq-detection", {"recognizers.yaml": RECOGNIZERS})
    first = await eventually(lambda: config_hash(cluster))
    pod = template(cluster)["spec"]
    assert {"name": "detection", "configMap": {"name": "piiq-detection", "items": [
        {"key": "policy.yaml", "path": "policy.yaml"},
        {"key": "recognizers.yaml", "path": "recognizers.yaml"},
    ]}} in pod["volumes"]  # fmt: skip
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["PIIQ_POLICY_FILE"] == "/etc/piiq/detection/policy.yaml"
    await eventually(lambda: degraded_false(cluster))

    # A key the workers do not read changes nothing (after three reads of it: the first may
    # have begun before the patch, the second's reconcile may still be writing) ...
    generation = cluster.get(DEPLOYMENTS, "pii-events")["metadata"]["generation"]
    reads = cluster.emulator.served[CONFIGMAP_READS]
    await cluster.patch_configmap("piiq-detection", {"README": "who owns this policy"})
    await eventually(lambda: read_since(cluster, reads + 3))
    assert config_hash(cluster) == first
    assert cluster.get(DEPLOYMENTS, "pii-events")["metadata"]["generation"] == generation

    # ... the policy's text rolls the workers, and so do the recognizers'.
    await cluster.patch_configmap("piiq-detection", {"policy.yaml": POLICY + "allow: {}\n"})
    second = await eventually(lambda: changed_from(cluster, first))
    await cluster.patch_configmap("piiq-detection", {"recognizers.yaml": "recognizers:\n"})
    await eventually(lambda: changed_from(cluster, second))

    # Deleted: Degraded again, and the workers are left as they were.
    await cluster.call(cluster.core.delete_namespaced_config_map, "piiq-detection", "default")
    await eventually(lambda: degraded(cluster, "ConfigMapMissing"))
    assert "pii-events" in cluster.names(DEPLOYMENTS)


def degraded_false(cluster: Cluster) -> None:
    condition = cluster.condition("pii", "Degraded")
    assert condition["status"] == "False", condition
