"""Point 6: `kubectl patch` of a queue's concurrency moves its replicas; removing a queue
deletes its Deployment; a person's edit of a child's replicas is put back (server-side
apply, field manager piiq-operator)."""

from __future__ import annotations

import json

from harness import Cluster, eventually
from suite import NAMESPACE, PIIQUEUE

WITHIN = 120


def replicas(cluster: Cluster, deployment: str) -> tuple[int, int]:
    status = cluster.get("deployment", "-n", NAMESPACE, deployment)
    return status["spec"]["replicas"], status["status"].get("readyReplicas", 0)


def patch_spec(cluster: Cluster, spec: dict[str, object]) -> None:
    cluster.kubectl(
        "patch", "piiq", PIIQUEUE, "-n", NAMESPACE, "--type=merge", "-p", json.dumps({"spec": spec})
    )


def test_concurrency_patch_moves_replicas(piiqueue: Cluster) -> None:
    patch_spec(piiqueue, {"queues": {"default": 20}})  # ceil(20 / 8) = 3 pods
    eventually(
        lambda: replicas(piiqueue, f"{PIIQUEUE}-default") == (3, 3),
        WITHIN,
        "default at 3 ready pods",
    )
    patch_spec(piiqueue, {"queues": {"default": 10}})
    eventually(
        lambda: replicas(piiqueue, f"{PIIQUEUE}-default") == (2, 2), WITHIN, "default back at 2"
    )


def test_removing_a_queue_deletes_its_deployment(piiqueue: Cluster) -> None:
    patch_spec(piiqueue, {"queues": {"pii_detection": None}})
    gone = f"deployment/{PIIQUEUE}-pii-detection"

    def deleted() -> bool:
        result = piiqueue.kubectl("get", gone, "-n", NAMESPACE, check=False)
        return result.returncode != 0 and "NotFound" in result.stderr

    eventually(deleted, WITHIN, f"{gone} deleted")
    patch_spec(piiqueue, {"queues": {"pii_detection": 5}})
    eventually(lambda: replicas(piiqueue, f"{PIIQUEUE}-pii-detection") == (1, 1), WITHIN, "back")


def test_a_manual_scale_is_put_back(piiqueue: Cluster) -> None:
    name = f"{PIIQUEUE}-events"
    planned, _ = replicas(piiqueue, name)
    piiqueue.kubectl("scale", f"deployment/{name}", "-n", NAMESPACE, "--replicas=1")
    eventually(lambda: replicas(piiqueue, name) == (planned, planned), WITHIN, "replicas restored")
    fields = piiqueue.get("deployment", name, "-n", NAMESPACE, "--show-managed-fields")
    owners = [
        (m["manager"], m["operation"])
        for m in fields["metadata"]["managedFields"]
        if "f:replicas" in (m.get("fieldsV1") or {}).get("f:spec", {})
    ]
    assert owners == [("piiq-operator", "Apply")], owners  # taken back from kubectl scale
