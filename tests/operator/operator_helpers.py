"""Helpers for the operator tests and the bench: the emulator cluster, bodies, waiting."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import kmock
import kubernetes
import pytest

from piiq_operator import GROUP, PLURAL, VERSION
from piiq_operator.cli import run_operator
from piiq_operator.handlers import Options
from piiq_operator.policy import Policy
from tests.support.k8s_emulator import RealisticEmulator, write_kubeconfig

ROOT = Path(__file__).parents[2]
CRD_PATH = ROOT / "charts/piiq/crds/piiqueues.piiq.dev.yaml"
EXAMPLE_PATH = ROOT / "examples/piiqueue.yaml"
PIIQ = f"{GROUP}/{VERSION}/{PLURAL}"
DEPLOYMENTS = "apps/v1/deployments"
CRONJOBS = "batch/v1/cronjobs"
SERVICES = "v1/services"
NS = "default"
T = TypeVar("T")
# What the tests' operator allows: the images of piiqueue() and the example, the chart's.
TEST_POLICY = Policy(allowed_image_repositories=("registry.test/piiq", "localhost/piiq"))


def piiqueue(name: str, queues: dict[str, int] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "queues": queues if queues is not None else {"default": 10, "events": 20},
        "concurrencyPerPod": 8,
        "image": "registry.test/piiq:0.1.0",
        "database": {"secretRef": {"name": "piiq-db"}},
        "slack": {"secretRef": {"name": "piiq-slack"}},
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PIIQueue",
        "metadata": {"name": name, "namespace": NS},
        "spec": body,
    }


async def eventually(check: Callable[[], T], within: float = 15.0) -> T:
    """``check()``'s value once it stops raising AssertionError/KeyError (bounded)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return check()
        except (AssertionError, KeyError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


class Cluster:
    """The emulator plus the official client (in threads: the emulator serves on this loop)."""

    def __init__(self, emulator: RealisticEmulator, kubeconfig: Path) -> None:
        self.emulator, self.kubeconfig = emulator, kubeconfig
        client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        self.custom = kubernetes.client.CustomObjectsApi(client)
        self.core = kubernetes.client.CoreV1Api(client)
        self.apps = kubernetes.client.AppsV1Api(client)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def create(self, body: dict[str, Any]) -> None:
        await self.call(
            self.custom.create_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, body
        )

    async def patch(self, name: str, patch: dict[str, Any]) -> None:
        await self.call(
            self.custom.patch_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, name, patch
        )

    async def delete(self, name: str) -> None:
        await self.call(
            self.custom.delete_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, name
        )

    async def secret(self, name: str, data: dict[str, str]) -> None:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        body = {"metadata": {"name": name, "namespace": NS}, "data": encoded}
        await self.call(self.core.create_namespaced_secret, NS, body)

    async def configmap(self, name: str, data: dict[str, str]) -> None:
        body = {"metadata": {"name": name, "namespace": NS}, "data": data}
        await self.call(self.core.create_namespaced_config_map, NS, body)

    async def patch_configmap(self, name: str, data: dict[str, str | None]) -> None:
        await self.call(self.core.patch_namespaced_config_map, name, NS, {"data": data})

    async def secrets(self, database_url: str = "postgresql://nobody@127.0.0.1:1/none") -> None:
        """The Secrets the example PIIQueues reference; the default URL refuses at once."""
        await self.secret("piiq-db", {"url": database_url})
        await self.secret("piiq-slack", {"bot-token": "xoxb-test", "signing-secret": "s3cr3t"})

    def get(self, resource: str, name: str) -> dict[str, Any]:
        obj = self.emulator.objects[resource, NS, name]
        assert not obj.deleted, f"{resource} {name} is deleted"
        return obj.raw

    def gone(self, resource: str, name: str) -> bool:
        return name not in self.names(resource)

    def names(self, resource: str) -> set[str]:
        return {name for _, name, _ in self.emulator.live(resource)}

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        conditions = (self.get(PIIQ, name).get("status") or {}).get("conditions") or []
        found = [c for c in conditions if c["type"] == kind]
        assert found, f"no {kind} condition yet: {conditions}"
        return found[0]

    def requests(self) -> int:
        return sum(self.emulator.served.values())


@contextlib.asynccontextmanager
async def emulated_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Cluster]:
    async with RealisticEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        emulator.add_crd(CRD_PATH)
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(server.url))
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))  # kubectl and child processes
        # The kubernetes client read $KUBECONFIG at import; the operator and kopf use this.
        monkeypatch.setattr(
            kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig)
        )
        yield Cluster(emulator, kubeconfig)


@contextlib.asynccontextmanager
async def running_operator(
    interval: float = 0.3, policy: Policy = TEST_POLICY
) -> AsyncIterator[None]:
    """The operator in a thread with its own event loop, as in production.

    Not in the test's loop: at shutdown kopf cancels every task created after it started,
    which in a shared loop includes pytest's and the emulator's.
    """
    stop, ready = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        options = Options(interval=interval, policy=policy)
        try:
            asyncio.run(
                run_operator(liveness=None, options=options, stop_flag=stop, ready_flag=ready)
            )
        except BaseException as exc:  # reported by the context manager
            failure.append(exc)

    thread = threading.Thread(target=main, name="operator", daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(ready.wait, 15), f"operator not ready: {failure}"
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 15)
    assert not thread.is_alive(), "operator did not stop within 15 s"
    assert not failure, f"operator failed: {failure[0]!r}"
