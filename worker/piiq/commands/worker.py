"""``piiq worker``: a Runner plus its probes and metrics, until SIGTERM."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from ..queue import Runner
from ..queue import inspect as queue_inspect
from ..runtime import metrics
from ..runtime.probes import serve_probes
from .canary import Canary

# Workers every `piiq worker` serves without --import (Canary's stored name is not its
# module's path, so it must be registered by importing it here).
BUILT_IN_WORKERS = (Canary,)

# Liveness: the runner talks to the database every poll interval; silence this long
# means it is stuck (a restart may help), not a short database blip.
LIVE_DB_SILENCE_S = 120.0
READY_DB_SILENCE_S = 10.0


def runner_checks(runner: Runner) -> tuple[Any, Any]:
    async def live() -> tuple[bool, str]:
        silent = time.monotonic() - runner.last_database_ok
        if silent > LIVE_DB_SILENCE_S:
            return False, f"no database contact for {silent:.0f} s"
        return True, "ok"

    async def ready() -> tuple[bool, str]:
        if not runner.started.is_set() or runner.stopping:
            return False, "not running"
        silent = time.monotonic() - runner.last_database_ok
        if silent > READY_DB_SILENCE_S:
            return False, f"no database contact for {silent:.0f} s"
        return True, "ready"

    return live, ready


def queue_depth_reader(database_url: str, prefix: str) -> Any:
    def read() -> metrics.QueueTable:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            conn.execute("SET statement_timeout = '2s'")
            return metrics.QueueTable(
                counts=queue_inspect.queue_counts(conn, prefix),
                oldest_available_s=queue_inspect.oldest_available(conn, prefix),
            )

    return read


async def run_worker(runner: Runner, metrics_port: int) -> None:
    live, ready = runner_checks(runner)
    url = runner.client.database_url or ""
    if metrics_port:
        metrics.register_queue_depth(queue_depth_reader(url, runner.client.prefix))
    probes = await serve_probes(metrics_port, live=live, ready=ready)
    try:
        await runner.run(handle_signals=True)
    finally:
        if probes is not None:
            await probes.cleanup()
