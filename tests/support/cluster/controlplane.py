"""A real Kubernetes control plane for the cluster suite: etcd, kube-apiserver (RBAC and
Node authorizers, the default admission plugins plus NodeRestriction), kube-controller-manager
and kube-scheduler, built by scripts/cluster/build.sh and started as local processes.

Everything listens on 127.0.0.1; pods reach the API server through the node agent's
forwarding into their network namespaces (netns.py). Every process is stopped at the end,
also when a test fails.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from piiq.runtime.ports import free_port
from tests.support.cluster.certs import Authority, Pair, service_account_keys

SERVICE_RANGE = "10.97.0.0/16"
KUBERNETES_SERVICE_IP = "10.97.0.1"
STARTUP_TIMEOUT = 120.0


def binaries() -> dict[str, Path]:
    """The built binaries, from ``PIIQ_CLUSTER_BIN`` (the directories build.sh printed,
    separated by ``:``)."""
    found: dict[str, Path] = {}
    for directory in os.environ["PIIQ_CLUSTER_BIN"].split(":"):
        for path in Path(directory).iterdir():
            if path.is_file() and os.access(path, os.X_OK):
                found[path.name] = path
    missing = {
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "helm",
    } - found.keys()
    if missing:
        raise RuntimeError(
            f"PIIQ_CLUSTER_BIN lacks {sorted(missing)}: run scripts/cluster/build.sh"
        )
    return found


def write_kubeconfig(path: Path, server: str, ca: Path, client: Pair, user: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "piiq-test", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate": str(client.cert), "client-key": str(client.key)},
            }
        ],
        "contexts": [
            {
                "name": "piiq-test",
                "context": {"cluster": "piiq-test", "user": user, "namespace": "default"},
            }
        ],
        "current-context": "piiq-test",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@dataclass
class ControlPlane:
    """A running control plane: its address, the admin kubeconfig, the PKI and the logs."""

    directory: Path
    bin: dict[str, Path]
    ca: Authority
    server: str
    admin_kubeconfig: Path
    node_client: Pair
    kubelet_serving: Pair
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_path(self, component: str) -> Path:
        return self.directory / "logs" / f"{component}.log"

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.log_path(name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")


def _start(plane: ControlPlane, name: str, args: list[str]) -> None:
    (plane.directory / "logs").mkdir(exist_ok=True)
    with plane.log_path(name).open("ab") as log:
        plane.processes[name] = subprocess.Popen(
            [str(plane.bin[name.split("@")[0]]), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in reversed(list(processes.values())):
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(plane: ControlPlane, url: str, client: Pair) -> None:
    context = ssl.create_default_context(cafile=str(plane.ca.cert))
    context.load_cert_chain(str(client.cert), str(client.key))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        plane.check_running()
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError as error:
            last = str(error)
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready within {STARTUP_TIMEOUT:.0f} s: {last}")


@contextmanager
def control_plane(directory: Path) -> Iterator[ControlPlane]:
    bin = binaries()
    pki = directory / "pki"
    ca = Authority(pki)
    host = "127.0.0.1"
    api_port = free_port()
    server = f"https://{host}:{api_port}"
    serving = ca.issue(
        "apiserver",
        "kube-apiserver",
        hosts=(
            host,
            KUBERNETES_SERVICE_IP,
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ),
    )
    admin = ca.issue("admin", "piiq-test-admin", organization="system:masters", client=True)
    kubelet_client = ca.issue(
        "apiserver-kubelet-client",
        "kube-apiserver-kubelet-client",
        organization="system:masters",
        client=True,
    )
    sa = service_account_keys(pki)
    plane = ControlPlane(
        directory=directory,
        bin=bin,
        ca=ca,
        server=server,
        admin_kubeconfig=write_kubeconfig(
            directory / "admin.kubeconfig", server, ca.cert, admin, "admin"
        ),
        node_client=ca.issue("node", "system:node:node0", organization="system:nodes", client=True),
        kubelet_serving=ca.issue("kubelet", "node0", hosts=(host,)),
    )
    kubeconfigs = {
        component: write_kubeconfig(
            directory / f"{component}.kubeconfig",
            server,
            ca.cert,
            ca.issue(component, f"system:{component}", client=True),
            component,
        )
        for component in ("kube-controller-manager", "kube-scheduler")
    }
    etcd_client, etcd_peer = free_port(), free_port()
    etcd_data = directory / "etcd"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, etcd_data, True)  # callbacks run last first:
        stack.callback(_stop, plane.processes)  # etcd stops before its data goes
        _start(
            plane,
            "etcd",
            [
                "--name=piiq-test",
                f"--data-dir={etcd_data}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=piiq-test=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        _start(
            plane,
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                f"--bind-address={host}",
                f"--advertise-address={host}",
                f"--secure-port={api_port}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--client-ca-file={ca.cert}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--service-cluster-ip-range={SERVICE_RANGE}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={sa.cert}",
                f"--service-account-signing-key-file={sa.key}",
                f"--kubelet-client-certificate={kubelet_client.cert}",
                f"--kubelet-client-key={kubelet_client.key}",
                f"--kubelet-certificate-authority={ca.cert}",
                "--kubelet-preferred-address-types=InternalIP",
                "--allow-privileged=false",
                "--profiling=false",
                f"--cert-dir={pki}",
            ],
        )
        _wait_ready(plane, f"{server}/readyz", admin)
        _start(
            plane,
            "kube-controller-manager",
            [
                f"--kubeconfig={kubeconfigs['kube-controller-manager']}",
                f"--authentication-kubeconfig={kubeconfigs['kube-controller-manager']}",
                f"--authorization-kubeconfig={kubeconfigs['kube-controller-manager']}",
                f"--service-account-private-key-file={sa.key}",
                f"--root-ca-file={ca.cert}",
                "--use-service-account-credentials=true",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--service-cluster-ip-range={SERVICE_RANGE}",
            ],
        )
        _start(
            plane,
            "kube-scheduler",
            [
                f"--kubeconfig={kubeconfigs['kube-scheduler']}",
                f"--authentication-kubeconfig={kubeconfigs['kube-scheduler']}",
                f"--authorization-kubeconfig={kubeconfigs['kube-scheduler']}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
            ],
        )
        yield plane
