"""A stand-in kubelet: runs the containers of Deployments, CronJobs and Pods found in the
Kubernetes emulator as local `piiq` processes.

What it does as a kubelet would: one process per replica, the container's ``args`` after
the image's ENTRYPOINT (``piiq``, here ``python -m piiq``), the container's env resolved
(``value``; ``secretKeyRef`` from the Secret in the emulator, honouring ``optional``;
``fieldRef: metadata.name`` as the pod's name), the image's own env (docs/image.md), and
stdout + stderr captured as ``kubectl logs`` shows them.

With ``PIIQ_E2E_IMAGE`` set (``make image-test`` sets it to the image it built) each pod
is a container of that image instead, run by podman as uid 10001 on a read-only root with
a tmpfs /tmp and the host's network (PostgreSQL and the Slack sandbox are on 127.0.0.1).

The one thing it changes: ports. All "pods" share this host's network namespace, so each
gets its own free port for ``PIIQ_METRICS_PORT`` and ``PIIQ_INGRESS_PORT`` where the
container sets them (in a cluster every pod has its own network namespace and they all
use 9090 and 3000). Nothing else of the command line or env is touched.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piiq.runtime.ports import free_port
from tests.support.helm_chart import pod_spec

Manifest = dict[str, Any]
SecretReader = Callable[[str, str], Manifest | None]  # (namespace, name) -> Secret or None
PORT_VARIABLES = ("PIIQ_METRICS_PORT", "PIIQ_INGRESS_PORT")
IMAGE = os.environ.get("PIIQ_E2E_IMAGE")  # run pods as containers of this image
IMAGE_ENV = {  # the Dockerfile's runtime ENV and WORKDIR /tmp (docs/image.md)
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "HOME": "/tmp",
}


class EnvError(LookupError):
    """A pod would not start: a required Secret or key is missing (CreateContainerConfigError)."""


def resolve_env(
    container: Manifest, namespace: str, pod_name: str, read_secret: SecretReader
) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env", []):
        name, source = item["name"], item.get("valueFrom")
        if source is None:
            env[name] = str(item.get("value", ""))
        elif "secretKeyRef" in source:
            value = _secret_value(source["secretKeyRef"], namespace, read_secret)
            if value is not None:
                env[name] = value
        elif source.get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[name] = pod_name
        else:
            raise EnvError(f"{name}: the stand-in kubelet does not resolve {source}")
    return env


def _secret_value(ref: Manifest, namespace: str, read_secret: SecretReader) -> str | None:
    secret = read_secret(namespace, ref["name"])
    optional = bool(ref.get("optional"))
    if secret is None:
        if optional:
            return None
        raise EnvError(f'secret "{ref["name"]}" not found')
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    if ref["key"] not in data:
        if optional:
            return None
        raise EnvError(f"couldn't find key {ref['key']} in Secret {namespace}/{ref['name']}")
    return data[ref["key"]]


@dataclass
class Pod:
    """One running container, as a local process."""

    name: str
    owner: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes]
    ports: dict[str, int] = field(default_factory=dict)

    def logs(self) -> str:
        """What ``kubectl logs`` would print: stdout and stderr, in order."""
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[Manifest]:
        """Each line parsed as JSON; a line that is not JSON fails the test here."""
        lines = []
        for number, line in enumerate(self.logs().splitlines(), 1):
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    raise AssertionError(
                        f"{self.name} log line {number} is not JSON: {line[:200]!r}"
                    ) from None
        return lines

    def kill(self) -> None:
        if IMAGE:  # SIGKILL to the podman client would leave the container running
            subprocess.run(["podman", "kill", "--signal", "KILL", self.name], check=True)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, grace: float) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds, like a pod's termination."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


class Kubelet:
    def __init__(self, read_secret: SecretReader, workdir: Path) -> None:
        self.read_secret = read_secret
        self.workdir = workdir
        self.pods: list[Pod] = []

    def command(self, args: list[str], pod_name: str, env: Mapping[str, str]) -> list[str]:
        if not IMAGE:
            return [sys.executable, "-m", "piiq", *args]
        # podman forwards SIGTERM to the container (sig-proxy) and exits with its status.
        passed = [f"--env={name}" for name in env if name != "PATH"]  # values from our env
        return [
            "podman", "run", "--rm", "--name", pod_name, "--network=host",
            "--user", "10001:10001", "--read-only", "--tmpfs", "/tmp",
            *passed, IMAGE, *args,
        ]  # fmt: skip

    def environment(
        self, obj: Manifest, pod_name: str
    ) -> tuple[list[str], dict[str, str], dict[str, int]]:
        (container,) = pod_spec(obj)["containers"]
        namespace = obj["metadata"].get("namespace", "default")
        env = resolve_env(container, namespace, pod_name, self.read_secret)
        ports = {name: free_port() for name in PORT_VARIABLES if name in env}
        env.update({name: str(port) for name, port in ports.items()})
        full = {"PATH": os.environ["PATH"], **IMAGE_ENV, **env}
        return list(container["args"]), full, ports

    def start(self, obj: Manifest, pod_name: str) -> Pod:
        args, env, ports = self.environment(obj, pod_name)
        cwd = self.workdir / pod_name  # the pod's emptyDir /tmp
        cwd.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / f"{pod_name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                self.command(args, pod_name, env),
                env={**os.environ, **env} if IMAGE else env,  # podman needs its own env too
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        pod = Pod(pod_name, obj["metadata"]["name"], args, env, log_path, process, ports)
        self.pods.append(pod)
        return pod

    def run_deployment(self, deployment: Manifest) -> list[Pod]:
        """``spec.replicas`` processes, named like a ReplicaSet's pods."""
        name = deployment["metadata"]["name"]
        replicas = deployment["spec"].get("replicas", 1)
        return [self.start(deployment, f"{name}-5d8f7c-{i}") for i in range(replicas)]

    def run_to_completion(self, obj: Manifest, pod_name: str, timeout: float) -> tuple[int, Pod]:
        """A Job's pod or a test hook Pod: run once, wait (bounded), return its exit code."""
        pod = self.start(obj, pod_name)
        try:
            code = pod.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pod.process.kill()
            pod.process.wait(10)
            raise AssertionError(
                f"{pod_name} did not finish within {timeout:g} s:\n{pod.logs()}"
            ) from None
        return code, pod

    def stop_all(self, grace: float = 20.0) -> dict[str, int]:
        """SIGTERM every pod still running; exit codes by pod name."""
        for pod in self.pods:
            if pod.process.poll() is None:
                pod.process.send_signal(signal.SIGTERM)
        return {pod.name: pod.stop(grace) for pod in self.pods}


def secret_reader(objects: Mapping[Any, Any]) -> SecretReader:
    """Read Secrets from the emulator's store (kmock ``objects``)."""

    def read(namespace: str, name: str) -> Manifest | None:
        try:
            obj = objects["v1/secrets", namespace, name]
        except KeyError:
            return None
        return None if obj.deleted else dict(obj.raw)

    return read
