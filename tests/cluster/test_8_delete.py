"""Points 2 and 9: the operator met no 403 in the whole suite; `kubectl delete piiq`
garbage-collects every child and its finalizer never blocks; `helm uninstall` leaves only
what Helm keeps by design: the CRD, and the generated args key (resource-policy keep: jobs
encrypted with it may outlive the release)."""

from __future__ import annotations

import re

from tests.support.cluster.harness import Cluster, eventually
from tests.support.cluster.suite import NAMESPACE, OPERATOR, PIIQUEUE, RELEASE

FORBIDDEN = re.compile(r"\b403\b|[Ff]orbidden")  # not the 403 inside a timestamp's digits
KINDS = "deployments,replicasets,pods,cronjobs,jobs,services,poddisruptionbudgets"


def test_deleting_the_piiqueue_collects_every_child(piiqueue: Cluster) -> None:
    piiqueue.kubectl("delete", "piiq", PIIQUEUE, "-n", NAMESPACE, "--timeout=60s")

    def children() -> list[str]:
        found = piiqueue.get(KINDS, "-n", NAMESPACE, "-l", f"app.kubernetes.io/instance={PIIQUEUE}")
        return [f"{o['kind']}/{o['metadata']['name']}" for o in found["items"]]

    eventually(lambda: children() == [], 120, "every child of the PIIQueue collected")


def test_the_operator_never_met_a_403(piiqueue: Cluster) -> None:
    """Over the whole suite, the deletion included: its one container never restarted, so
    its log is all of it."""
    logs = piiqueue.kubectl("logs", f"deploy/{OPERATOR}", "-n", NAMESPACE, "--tail=-1").stdout
    assert logs.strip(), "the operator logged nothing"
    for line in logs.splitlines():
        assert not FORBIDDEN.search(line), line
    (pod,) = piiqueue.get("pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=operator")[
        "items"
    ]
    (status,) = pod["status"]["containerStatuses"]
    assert status["restartCount"] == 0, status  # its liveness probe held all along


def test_helm_uninstall_leaves_only_the_crd(installed: Cluster) -> None:
    installed.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "2m")

    def leftovers() -> list[str]:
        found = installed.get(
            f"{KINDS},serviceaccounts,roles,rolebindings,configmaps,secrets",
            "-n", NAMESPACE, "-l", "app.kubernetes.io/name=piiq",
        )  # fmt: skip
        return [f"{o['kind']}/{o['metadata']['name']}" for o in found["items"]]

    eventually(lambda: leftovers() == [f"Secret/{RELEASE}-args-key"], 120, "only the key left")
    kept = installed.get("secret", f"{RELEASE}-args-key", "-n", NAMESPACE)
    assert kept["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    cluster_wide = installed.get(
        "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/name=piiq"
    )["items"]
    assert cluster_wide == []
    installed.get("crd", "piiqueues.piiq.dev")  # kept: Helm never deletes CRDs
