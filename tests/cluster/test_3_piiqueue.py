"""Point 4: `kubectl apply -f examples/piiqueue.yaml` becomes Deployments per queue with the
planned replicas and `--queue` args, ReplicaSets and Pods made by the real
controller-manager, the ingress Deployment and Service, and the CronJob; `kubectl get piiq`
shows its columns with real values; `kubectl wait --for=condition=Ready` succeeds."""

from __future__ import annotations

from typing import Any

import yaml

from piiq_operator import manifests
from piiq_operator.meta import Owner
from piiq_operator.sizing import plan
from piiq_operator.spec import parse_spec
from tests.support.cluster.harness import Cluster
from tests.support.cluster.suite import EXAMPLE, NAMESPACE, PIIQUEUE


def planned() -> dict[str, Any]:
    """The operator's own plan for the example: Deployment name -> (replicas, args)."""
    example = yaml.safe_load(EXAMPLE.read_text())
    spec = parse_spec(PIIQUEUE, example["spec"])
    owner = Owner(PIIQUEUE, NAMESPACE, "uid")
    result = {}
    for queue_plan in plan(spec).values():
        built = manifests.worker_deployment(spec, owner, queue_plan, queue_plan.replicas)
        container = built["spec"]["template"]["spec"]["containers"][0]
        result[built["metadata"]["name"]] = (queue_plan.replicas, container["args"])
    return result


def owned_by(obj: dict[str, Any], kind: str, name: str) -> bool:
    return any(
        ref["kind"] == kind and ref["name"] == name and ref.get("controller")
        for ref in obj["metadata"].get("ownerReferences", [])
    )


def test_each_queue_runs_its_planned_pods(piiqueue: Cluster) -> None:
    expected = planned()
    deployments = {
        d["metadata"]["name"]: d
        for d in piiqueue.get(
            "deployments", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=worker"
        )["items"]
    }
    assert set(deployments) == set(expected)
    replica_sets = piiqueue.get("replicasets", "-n", NAMESPACE)["items"]
    pods = piiqueue.get("pods", "-n", NAMESPACE)["items"]
    for name, (replicas, args) in expected.items():
        deployment = deployments[name]
        assert owned_by(deployment, "PIIQueue", PIIQUEUE)
        assert deployment["spec"]["replicas"] == replicas
        assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == args
        assert deployment["status"].get("readyReplicas") == replicas, deployment["status"]
        (replica_set,) = [r for r in replica_sets if owned_by(r, "Deployment", name)]
        rs_name = replica_set["metadata"]["name"]
        running = [
            p
            for p in pods
            if owned_by(p, "ReplicaSet", rs_name) and p["status"]["phase"] == "Running"
        ]
        assert len(running) == replicas, (name, [p["metadata"]["name"] for p in running])


def test_the_ingress_service_selects_the_ingress_pods(piiqueue: Cluster) -> None:
    service = piiqueue.get("service", "-n", NAMESPACE, f"{PIIQUEUE}-ingress")
    assert owned_by(service, "PIIQueue", PIIQUEUE)
    slices = piiqueue.get(
        "endpointslices", "-n", NAMESPACE, "-l", f"kubernetes.io/service-name={PIIQUEUE}-ingress"
    )["items"]
    ready = [e for s in slices for e in s.get("endpoints") or [] if e["conditions"].get("ready")]
    pods = piiqueue.get("pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=ingress")[
        "items"
    ]
    assert len(pods) == 2  # the example's ingress.replicas
    assert sorted(e["addresses"][0] for e in ready) == sorted(p["status"]["podIP"] for p in pods)


def test_the_maintenance_cronjob_exists(piiqueue: Cluster) -> None:
    cronjob = piiqueue.get("cronjob", "-n", NAMESPACE, f"{PIIQUEUE}-maintenance")
    assert owned_by(cronjob, "PIIQueue", PIIQUEUE)
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_kubectl_get_piiq_shows_real_values(piiqueue: Cluster) -> None:
    header, line = piiqueue.kubectl("get", "piiq", PIIQUEUE, "-n", NAMESPACE).stdout.splitlines()
    row = dict(zip(header.split(), line.split(), strict=True))
    pods = sum(replicas for replicas, _ in planned().values())
    assert row["NAME"] == PIIQUEUE
    assert row["QUEUES"] == "default,events,pii_detection", row
    assert row["WORKERS"] == f"{pods}/{pods}", row
    assert row["BACKLOG"] == "0", row  # read from the database through the operator's pod
    assert row["READY"] == "True", row
