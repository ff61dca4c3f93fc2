"""The cluster suite (`make test-cluster`): a real kube-apiserver, etcd, controller-manager
and scheduler built from the Go module proxy (scripts/cluster/build.sh), the real helm and
kubectl CLIs, and a node agent that runs the pods (tests/support/cluster/node_agent.py).

The suite shares one cluster and runs its files in order: install, apply, use, delete.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterator

import psycopg
import pytest

from piiq.queue import devdb
from tests.support.cluster.harness import PIIQ_IMAGE, Cluster, piiq_entrypoint, running_cluster
from tests.support.cluster.runtimes import choose
from tests.support.cluster.suite import (
    EXAMPLE,
    NAMESPACE,
    PIIQUEUE,
    RELEASE,
    REPO,
    chart_values,
    slack_secret,
)
from tests.support.gated_slack import GatedSlackSandbox

if os.geteuid() != 0:  # a suite asked for (PIIQ_CLUSTER_BIN) and not run must not pass
    pytest.exit("the cluster suite runs pods in network namespaces: run it as root", returncode=1)


def pytest_report_header() -> str:
    return f"cluster suite: containers run as {choose(PIIQ_IMAGE, piiq_entrypoint()).description}"


@pytest.fixture(scope="session")
def slack() -> Iterator[GatedSlackSandbox]:
    with GatedSlackSandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def database_url(queue_database_url: str) -> Iterator[str]:
    """A database of the suite's own, at an address the pods reach too."""
    url = devdb.create_database(queue_database_url)
    yield url
    devdb.drop_database(queue_database_url, url)


def tcp_ports(url: str) -> list[int]:
    """The port to publish into pods for a TCP database (none for a socket directory)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = str(info.get("host") or "")
    return [] if not host or host.startswith("/") else [int(info.get("port") or 5432)]


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, slack: GatedSlackSandbox, database_url: str
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("cluster")
    with running_cluster(directory, [slack.port, *tcp_ports(database_url)]) as running:
        yield running


def postgresql_url(conninfo: str) -> str:
    """The postgresql:// URL the database Secret holds, for any libpq conninfo."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = urllib.parse.quote(str(info["user"]), safe="")
    if info.get("password"):
        user += ":" + urllib.parse.quote(str(info["password"]), safe="")
    host = urllib.parse.quote(str(info["host"]), safe="")  # a socket directory is a path
    return f"postgresql://{user}@{host}:{info.get('port', 5432)}/{info['dbname']}"


@pytest.fixture(scope="session")
def installed(
    cluster: Cluster,
    slack: GatedSlackSandbox,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Cluster:
    """The user's path to `helm install piiq charts/piiq --wait`, once for the suite: the
    Secrets first (examples/piiq-secrets.example.yaml's names), then the chart, whose hook
    Job migrates the database."""
    cluster.kubectl("create", "namespace", NAMESPACE)
    literals = {"piiq-db": {"url": postgresql_url(database_url)}, "piiq-slack": slack_secret()}
    for name, data in literals.items():
        cluster.kubectl(
            "create", "secret", "generic", name, "-n", NAMESPACE,
            *[f"--from-literal={key}={value}" for key, value in data.items()],
        )  # fmt: skip
    values = tmp_path_factory.mktemp("helm") / "values.json"
    values.write_text(json.dumps(chart_values(slack)))
    cluster.helm(
        "install", RELEASE, str(REPO / "charts" / "piiq"), "--namespace", NAMESPACE,
        "--values", str(values), "--wait", "--timeout", "5m",
    )  # fmt: skip
    return cluster


@pytest.fixture(scope="session")
def piiqueue(installed: Cluster) -> Cluster:
    """examples/piiqueue.yaml applied as its header says (the detection ConfigMap from
    examples/; the chart made the args key), Ready."""
    examples = REPO / "examples"
    installed.kubectl(
        "create", "configmap", "piiq-detection", "-n", NAMESPACE,
        f"--from-file=policy.yaml={examples / 'policy.yaml'}",
        f"--from-file=recognizers.yaml={examples / 'recognizers.yaml'}",
    )  # fmt: skip
    installed.kubectl("apply", "-n", NAMESPACE, "-f", str(EXAMPLE))
    installed.kubectl(
        "wait", "-n", NAMESPACE, "--for=condition=Ready", f"piiq/{PIIQUEUE}", "--timeout=300s"
    )
    return installed
