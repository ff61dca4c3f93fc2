"""Points 1-3: `helm install --wait` on a real API server; the operator under exactly the
chart's RBAC; every CEL rule and schema constraint of the CRD enforced by the API server."""

from __future__ import annotations

import psycopg

from piiq.queue._migrations import OBAN_VERSION
from tests.support.cluster.harness import Cluster
from tests.support.cluster.suite import NAMESPACE, SERVICE_ACCOUNT

CRD = "piiqueues.piiq.dev"
AS_OPERATOR = f"--as=system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"


def condition(obj: dict, kind: str) -> str | None:
    for item in obj.get("status", {}).get("conditions", []):
        if item["type"] == kind:
            return str(item["status"])
    return None


def test_helm_install_establishes_the_crd_and_runs_the_operator(installed: Cluster) -> None:
    crd = installed.get("crd", CRD)
    assert condition(crd, "Established") == "True"
    assert condition(crd, "NamesAccepted") == "True"
    assert condition(crd, "NonStructuralSchema") is None  # structural: CEL compiles
    (pod,) = installed.get("pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=operator")[
        "items"
    ]
    assert pod["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
    assert pod["status"]["phase"] == "Running"
    assert condition(pod, "Ready") == "True"  # its readiness probe answered through the node
    owner = pod["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ReplicaSet"  # made by the real controller-manager
    assert installed.helm("status", "piiq", "-n", NAMESPACE).stdout.count("STATUS: deployed") == 1


def can_i(cluster: Cluster, *args: str) -> bool:
    """`kubectl auth can-i` as the operator: yes (exit 0) or no (exit 1), nothing else."""
    result = cluster.kubectl("auth", "can-i", AS_OPERATOR, *args, check=False)
    answer = result.stdout.strip()
    assert (result.returncode, answer) in ((0, "yes"), (1, "no")), (args, result.stderr)
    assert "Warning" not in result.stderr, (args, result.stderr)  # e.g. an unknown resource
    return answer == "yes"


def test_the_operator_may_do_its_work_and_nothing_else(installed: Cluster) -> None:
    ns = f"--namespace={NAMESPACE}"
    for allowed in (
        ("patch", "deployments.apps", ns),
        ("create", "cronjobs.batch", ns),
        ("delete", "services", ns),
        ("get", "secrets", ns),
        ("patch", "piiqueues.piiq.dev/status", ns),
        ("create", "events", ns),
    ):
        assert can_i(installed, *allowed), allowed
    for refused in (
        ("get", "secrets", "--namespace=default"),
        ("get", "secrets", "--namespace=kube-system"),
        ("list", "secrets", "--all-namespaces"),
        ("patch", "deployments.apps", "--namespace=default"),
        ("create", "pods", ns),
        ("create", "pods/exec", ns),
        ("delete", "nodes", "--all-namespaces"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", "--all-namespaces"),
        ("escalate", "roles.rbac.authorization.k8s.io", ns),
        ("impersonate", "serviceaccounts", ns),
        ("create", "serviceaccounts/token", ns),
    ):
        assert not can_i(installed, *refused), refused


def test_the_install_hook_migrated_the_database(installed: Cluster, database_url: str) -> None:
    """The chart's pre-install Job (`piiq migrate`) ran as a real Job's pod before --wait
    returned; hook-succeeded deleted it."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        (version,) = conn.execute("SELECT obj_description('public.oban_jobs'::regclass)").fetchone()
    assert version == str(OBAN_VERSION)
    jobs = installed.get("jobs", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=migrate")
    assert jobs["items"] == []
