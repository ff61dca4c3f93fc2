"""The operator in-process (real kopf) against the Kubernetes emulator over HTTP."""

from __future__ import annotations

from operator_helpers import CRONJOBS, DEPLOYMENTS, PIIQ, Cluster, eventually, piiqueue


def replicas(cluster: Cluster, name: str) -> int:
    return cluster.get(DEPLOYMENTS, name)["spec"]["replicas"]


async def test_create_scale_remove_restore_delete(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"default": 10, "events": 20, "pii_detection": 5}))

    def created() -> None:
        assert cluster.names(DEPLOYMENTS) == {"pii-default", "pii-events", "pii-pii-detection"}
        assert cluster.names(CRONJOBS) == {"pii-maintenance"}

    await eventually(created)
    assert replicas(cluster, "pii-events") == 3  # ceil(20 / 8)
    events = cluster.get(DEPLOYMENTS, "pii-events")
    assert events["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "worker", "--queue", "events=7",
    ]  # fmt: skip
    owner = events["metadata"]["ownerReferences"][0]
    assert (
        owner["kind"] == "PIIQueue" and owner["uid"] == cluster.get(PIIQ, "pii")["metadata"]["uid"]
    )

    # Edit concurrency -> scaled.
    await cluster.patch("pii", {"spec": {"queues": {"events": 40}}})
    await eventually(lambda: assert_equal(replicas(cluster, "pii-events"), 5))

    # Remove a queue -> its Deployment is deleted.
    await cluster.patch("pii", {"spec": {"queues": {"pii_detection": None}}})
    await eventually(lambda: assert_equal(cluster.gone(DEPLOYMENTS, "pii-pii-detection"), True))
    assert cluster.names(DEPLOYMENTS) == {"pii-default", "pii-events"}

    # Delete or hand-scale a child -> restored by the timer.
    await cluster.call(cluster.apps.delete_namespaced_deployment, "pii-default", "default")
    await cluster.call(
        cluster.apps.patch_namespaced_deployment, "pii-events", "default", {"spec": {"replicas": 1}}
    )
    await eventually(lambda: assert_equal(replicas(cluster, "pii-default"), 2))
    await eventually(lambda: assert_equal(replicas(cluster, "pii-events"), 5))

    # Delete the PIIQueue -> the children are collected.
    await cluster.delete("pii")
    await eventually(
        lambda: assert_equal(cluster.names(DEPLOYMENTS) | cluster.names(CRONJOBS), set())
    )


def assert_equal(actual: object, expected: object) -> None:
    assert actual == expected, f"{actual!r} != {expected!r}"
