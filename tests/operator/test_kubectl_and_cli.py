"""The user's workflow: `piiq operator` as a process, kubectl apply/get/wait/delete.

Against the emulator, so this proves the command line and the resource's shape, not an
API server's validation, strategic merge or RBAC (see docs/operator.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import shutil
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yaml
from click.testing import CliRunner

from piiq.runtime.ports import free_port
from piiq_operator.cli import operator_command
from piiq_operator.manifests import DETECTION_HASH
from tests.operator.operator_helpers import (
    CRD_PATH,
    DEPLOYMENTS,
    EXAMPLE_PATH,
    PIIQ,
    ROOT,
    Cluster,
    eventually,
)

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


async def kubectl(*args: str) -> str:
    assert KUBECTL is not None
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
    return out.decode()


@contextlib.asynccontextmanager
async def operator_process(
    port: int, metrics_port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "piiq_operator", "--all-namespaces", "--interval", "0.3",
        "--liveness", f"http://127.0.0.1:{port}/healthz", "--metrics-port", str(metrics_port),
        "--allowed-image-repository", "localhost/piiq",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status == 200
    except aiohttp.ClientError:
        return False


@needs_kubectl
async def test_kubectl_apply_get_wait_delete_with_the_operator_process(cluster: Cluster) -> None:
    cluster.emulator.ready_deployments = True
    await cluster.secrets()
    port, metrics_port = free_port(), free_port()
    async with operator_process(port, metrics_port) as proc:
        for _ in range(200):  # the process imports kopf and logs in (bounded: 20 s)
            if await healthy(port):
                break
            assert proc.returncode is None, "the operator exited"
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the operator's liveness endpoint never answered")

        # The example's own instructions: its detection ConfigMap (kubectl builds it; the
        # emulator cannot read the protobuf kubectl would send), then the PIIQueue.
        built = await kubectl(
            *example_command("kubectl create configmap"), "--dry-run=client", "-o", "json"
        )
        await cluster.call(cluster.core.create_namespaced_config_map, "default", json.loads(built))
        out = await kubectl("apply", "--validate=false", "-f", str(EXAMPLE_PATH))
        assert "piiqueue.piiq.dev/pii-detector created" in out
        await kubectl("wait", "--for=condition=Ready", "piiq/pii-detector", "--timeout=30s")
        assert (
            await kubectl("get", "piiq", "pii-detector", "-o", "jsonpath={.status.workers}")
            == "6/6"
        )
        detection = cluster.get(DEPLOYMENTS, "pii-detector-events")["spec"]["template"]
        assert detection["metadata"]["annotations"][DETECTION_HASH]  # read from the ConfigMap
        names = (await kubectl("get", "deployments", "-o", "name")).split()
        assert sorted(names) == [
            "deployment.apps/pii-detector-default",
            "deployment.apps/pii-detector-events",
            "deployment.apps/pii-detector-ingress",
            "deployment.apps/pii-detector-pii-detection",
        ]
        assert "pii-detector" in await kubectl("get", "piiqueues")
        # The CRD's printer columns, evaluated by kubectl's own JSONPath on the live object.
        columns = ",".join(
            f"{c['name'].upper()}:{c['jsonPath']}" for c in printer_columns() if c["name"] != "Age"
        )
        table = await kubectl("get", "piiq", "pii-detector", "-o", f"custom-columns={columns}")
        assert table.split("\n")[1].split() == [
            "default,events,pii_detection",
            "6/6",
            "<none>",
            "<none>",
            "True",
            "AllWorkersReady",
        ]  # fmt: skip  (no database here: no backlog, no paused queues)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response,
        ):
            scraped = await response.text()
        assert 'piiq_operator_reconciles_total{result="ready"}' in scraped
        assert "piiq_operator_reconcile_duration_seconds_count" in scraped

        # --wait=false: kubectl's deletion watch needs field selectors the emulator lacks.
        await kubectl("delete", "piiq", "pii-detector", "--wait=false")
        try:
            await eventually(lambda: assert_no_children(cluster))  # kopf released its finalizer
        except AssertionError:
            proc.terminate()
            output, _ = await asyncio.wait_for(proc.communicate(), 20)
            raise AssertionError(output.decode()[-20000:]) from None  # the log says why

        proc.terminate()
        output, _ = await asyncio.wait_for(proc.communicate(), 20)
    lines = [line for line in output.decode().splitlines() if line.startswith("{")]
    assert lines, output.decode()[-2000:]
    assert all(json.loads(line) for line in lines)  # JSON lines for kubectl logs
    assert "xoxb-test" not in output.decode() and "s3cr3t" not in output.decode()


def example_command(start: str) -> list[str]:
    """The arguments of the command the example's header tells users to run."""
    (line,) = [line.lstrip("# ") for line in EXAMPLE_PATH.read_text().splitlines() if start in line]
    return shlex.split(line)[1:]


def printer_columns() -> list[dict[str, str]]:
    crd = yaml.safe_load(CRD_PATH.read_text())
    return list(crd["spec"]["versions"][0]["additionalPrinterColumns"])


def assert_no_children(cluster: Cluster) -> None:
    assert cluster.names(PIIQ) == set()
    assert cluster.names(DEPLOYMENTS) == set()


def test_cli_rejects_namespace_with_all_namespaces() -> None:
    result = CliRunner().invoke(operator_command, ["-n", "prod", "--all-namespaces"])
    assert result.exit_code == 2 and "not both" in result.output


def test_cli_help_names_the_options() -> None:
    result = CliRunner().invoke(operator_command, ["--help"])
    assert result.exit_code == 0
    for option in ("--namespace", "--all-namespaces", "--liveness", "--standalone", "--interval"):
        assert option in result.output
