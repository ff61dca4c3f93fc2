"""The e2e stack: helm install -> operator -> pods as local processes (see conftest.py)."""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from piiq import sandbox as sb
from piiq.queue import devdb
from piiq_operator.policy import Policy
from tests.e2e.kubelet import Kubelet, Manifest, Pod, secret_reader
from tests.operator.operator_helpers import emulated_cluster, eventually, running_operator
from tests.support.gated_slack import GatedSlackSandbox
from tests.support.helm_chart import NAMESPACE, flag_values, hooks, install, operator_args, render

PIIQUEUE = "pii-detector"
PREFIX = "piiq_e2e"
PASSWORD = "e2e-db-password-never-logged"  # trust auth ignores it; the logs must not show it
QUEUES = {"events": 4, "default": 1}  # events: 2 pods of 2; default: 1 pod of 1
WORKERS = {"events": f"{PIIQUEUE}-events", "default": f"{PIIQUEUE}-default"}
INGRESS, MAINTENANCE = f"{PIIQUEUE}-ingress", f"{PIIQUEUE}-maintenance"
START_TIMEOUT = 60.0


@dataclass
class Stack:
    slack: GatedSlackSandbox
    kubelet: Kubelet
    database_url: str
    children: dict[str, Manifest]  # the operator's Deployments and CronJob by name
    test_hook: Manifest  # the chart's `helm test` Pod
    pods: dict[str, list[Pod]]  # running pods by Deployment name

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.pods[INGRESS][0].ports['PIIQ_INGRESS_PORT']}"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.database_url, autocommit=True)


def url_with_password(conninfo: str, password: str) -> str:
    """A postgresql:// URL (what the chart's values ask for) for any libpq conninfo."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
    # The embedded server listens on a socket directory: a path, percent-encoded in a URL.
    host = urllib.parse.quote(str(host), safe="") if str(host).startswith("/") else host
    return f"postgresql://{info.get('user', 'postgres')}:{password}@{host}:{port}/{info['dbname']}"


def chart_values(database_url: str, slack: sb.SlackSandbox) -> dict[str, Any]:
    return {
        "database": {"queuePrefix": PREFIX},
        "quickStartSecrets": {
            "create": True,
            "databaseUrl": database_url,
            "slack": {
                "botToken": sb.BOT_TOKEN,
                "adminToken": sb.ADMIN_TOKEN,
                "signingSecret": sb.SIGNING_SECRET,
            },
        },
        "examplePIIQueue": {
            "enabled": True,
            "name": PIIQUEUE,
            "spec": {
                "queues": QUEUES,
                "concurrencyPerPod": 2,
                "ingress": {"enabled": True, "replicas": 1},
            },
        },
        "operator": {"slackApiUrl": slack.base_url},
        "argsEncryption": {"generate": True},
        "tests": {"canaryQueue": "default", "timeout": "30s"},
    }


def chart_policy(objs: list[Manifest]) -> Policy:
    """The policy the chart's operator Deployment passes (its image and Slack API flags)."""
    args = operator_args(objs)
    (url,) = flag_values(args, "--slack-api-url")
    images = tuple(flag_values(args, "--allowed-image-repository"))
    return Policy(allowed_image_repositories=images, slack_api_url=url)


def operator_children(emulator: Any) -> dict[str, Manifest]:
    """The Deployments and CronJob the operator made, once all of them exist."""
    found = {
        name: obj
        for resource in ("apps/v1/deployments", "batch/v1/cronjobs")
        for namespace, name, obj in emulator.live(resource)
        if namespace == NAMESPACE and name.startswith(PIIQUEUE)
    }
    assert set(found) == {*WORKERS.values(), INGRESS, MAINTENANCE}, sorted(found)
    return found


def ready(stack: Stack) -> bool:
    try:
        with urllib.request.urlopen(f"{stack.ingress_url}/readyz", timeout=1) as response:
            if response.status != 200:
                return False
    except OSError:
        return False
    with stack.connect() as conn:
        (live,) = conn.execute(
            f"SELECT count(*) FROM {PREFIX}.piiq_producers WHERE stopped_at IS NULL"
        ).fetchone()
    return live == sum(len(stack.pods[name]) for name in WORKERS.values())


async def wait_until(check: Any, within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not within {within:g} s")
        await asyncio.sleep(0.1)


async def run_migration_hook(kubelet: Kubelet, values: dict[str, Any]) -> None:
    """The chart's post-install hook Job (quick start: its Secret is the release's), as Helm
    runs it once the release's objects exist and waits for; the emulator cannot run hooks."""
    (job,) = hooks(render(values), "post-install")
    assert job["kind"] == "Job", job
    name = f"{job['metadata']['name']}-x7k2p"
    code, pod = await asyncio.to_thread(kubelet.run_to_completion, job, name, START_TIMEOUT)
    assert code == 0, pod.logs()


async def start(stack: Stack) -> None:
    for name in [*WORKERS.values(), INGRESS]:
        stack.pods[name] = stack.kubelet.run_deployment(stack.children[name])
    await wait_until(lambda: ready(stack), START_TIMEOUT, "ingress ready and workers heartbeating")


@asynccontextmanager
async def running_stack(server_url: str, tmp: Path) -> AsyncIterator[Stack]:
    database = devdb.create_database(server_url)
    try:
        with pytest.MonkeyPatch.context() as mp, GatedSlackSandbox() as slack:
            async with emulated_cluster(tmp, mp) as cluster:
                values = chart_values(url_with_password(database, PASSWORD), slack)
                await asyncio.to_thread(install, cluster.kubeconfig, values)
                kubelet = Kubelet(secret_reader(cluster.emulator.objects), tmp / "pods")
                await run_migration_hook(kubelet, values)
                async with running_operator(policy=chart_policy(render(values))):
                    children = await eventually(lambda: operator_children(cluster.emulator), 30)
                (hook,) = hooks(render(values), "test")
                stack = Stack(slack, kubelet, database, children, hook, {})
                try:
                    await start(stack)
                    yield stack
                finally:
                    await asyncio.to_thread(kubelet.stop_all)
    finally:
        devdb.drop_database(server_url, database)
