"""The cluster suite's handle on its cluster: the control plane, the node agent, the real
kubectl and helm CLIs with the admin kubeconfig, and the wait helpers the tests share."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.support.cluster import runtimes
from tests.support.cluster.controlplane import ControlPlane, control_plane
from tests.support.cluster.kube_rest import Kube
from tests.support.cluster.node_agent import NodeAgent

NODE = "node0"
PIIQ_IMAGE = f"localhost/piiq:{importlib.metadata.version('piiq')}"  # `make image`
# What local-process pods run from: the environment and the source tree (an editable install).
KEEP_VISIBLE = (Path(sys.prefix), Path(__file__).resolve().parents[3])
COMMAND_TIMEOUT = 300
T = TypeVar("T")


@dataclass
class Cluster:
    plane: ControlPlane
    agent: NodeAgent
    admin: Kube

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ) | {
            "KUBECONFIG": str(self.plane.admin_kubeconfig),
            "HELM_CACHE_HOME": str(self.plane.directory / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.plane.directory / "helm" / "config"),
            "HELM_DATA_HOME": str(self.plane.directory / "helm" / "data"),
        }

    def _run(
        self, binary: str, args: tuple[str, ...], check: bool, stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.plane.bin[binary]), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{binary} {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return self._run("kubectl", args, check, stdin, timeout)

    def helm(
        self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return self._run("helm", args, check, None, timeout)

    def get(self, *args: str) -> Any:
        """``kubectl get ARGS -o json``, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)


def eventually(check: Callable[[], T | None], within: float, what: str, every: float = 0.5) -> T:
    """The first truthy ``check()`` within ``within`` seconds, else a failure naming ``what``
    and the last answer or error."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            value = check()
            if value:
                return value
            last = value
        except (AssertionError, LookupError, ValueError) as error:
            last = error
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s (last: {last!r})")
        time.sleep(every)


def piiq_entrypoint() -> str:
    """The ``piiq`` console script of this interpreter's environment (the image's
    ENTRYPOINT, when pods run as local processes)."""
    found = Path(sys.executable).parent / "piiq"
    if found.exists():
        return str(found)
    which = shutil.which("piiq")
    if which is None:
        raise RuntimeError("no piiq console script next to the interpreter: pip install -e .")
    return which


@contextmanager
def running_cluster(directory: Path, published_ports: list[int]) -> Iterator[Cluster]:
    """Control plane + one node whose pods reach ``published_ports`` on the host's 127.0.0.1."""
    logging.getLogger("node-agent").setLevel(logging.INFO)
    with control_plane(directory) as plane:
        port = int(plane.server.rsplit(":", 1)[1])
        admin = Kube(plane.server, str(plane.ca.cert), *_pair(directory / "pki", "admin"))
        node = Kube(
            plane.server,
            str(plane.ca.cert),
            str(plane.node_client.cert),
            str(plane.node_client.key),
        )
        agent = NodeAgent(
            kube=node,
            name=NODE,
            directory=directory / "node",
            api_address=("127.0.0.1", port),
            published_ports=sorted({port, *published_ports}),
            serving_cert=plane.kubelet_serving.cert,
            serving_key=plane.kubelet_serving.key,
            client_ca=plane.ca.cert,
            runtime=runtimes.choose(PIIQ_IMAGE, piiq_entrypoint(), keep=KEEP_VISIBLE),
        )
        try:
            agent.start()
            cluster = Cluster(plane, agent, admin)
            cluster.kubectl("wait", "--for=condition=Ready", f"node/{NODE}", "--timeout=120s")
            yield cluster
        finally:
            agent.stop()
            admin.close()
            node.close()


def _pair(pki: Path, name: str) -> tuple[str, str]:
    return str(pki / f"{name}.crt"), str(pki / f"{name}.key")
