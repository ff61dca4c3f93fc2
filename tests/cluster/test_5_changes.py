"""Point 6: `kubectl patch` of a queue's concurrency moves its replicas; removing a queue
deletes its Deployment; a person's edit of a child's replicas is put back (server-side
apply, field manager piiq-operator)."""

from __future__ import annotations

import json
import os
import subprocess

from tests.support.cluster.harness import Cluster, eventually, piiq_entrypoint
from tests.support.cluster.suite import NAMESPACE, PIIQUEUE

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


def test_a_paused_queue_shows_in_kubectl_get_piiq(piiqueue: Cluster, database_url: str) -> None:
    """`piiq queues pause` on every worker at once, and in the PIIQueue's status."""

    def piiq_queues(*args: str) -> None:
        env = dict(os.environ, PIIQ_DATABASE_URL=database_url)
        subprocess.run(
            [piiq_entrypoint(), "queues", *args], env=env, check=True, capture_output=True
        )

    def wide() -> dict[str, str]:
        header, line = piiqueue.kubectl(
            "get", "piiq", PIIQUEUE, "-n", NAMESPACE, "-o", "wide"
        ).stdout.splitlines()
        return dict(zip(header.split(), line.split(), strict=True))

    piiq_queues("pause", "events")
    try:
        eventually(lambda: wide()["PAUSED"] == "events", WITHIN, "PAUSED events")
        status = piiqueue.get("piiq", PIIQUEUE, "-n", NAMESPACE)["status"]
        (events,) = [q for q in status["queues"] if q["name"] == "events"]
        assert events["paused"] is True
    finally:
        piiq_queues("resume", "events")

    def resumed() -> bool:
        status = piiqueue.get("piiq", PIIQUEUE, "-n", NAMESPACE)["status"]
        return not status.get("paused") and not any(q.get("paused") for q in status["queues"])

    eventually(resumed, WITHIN, "nothing paused")
