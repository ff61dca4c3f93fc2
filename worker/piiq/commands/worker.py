"""``piiq worker``: a Runner plus its probes and metrics, until SIGTERM."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path
from typing import Any

import click
import psycopg

from ..queue import (
    Client,
    MaintenanceOptions,
    Runner,
    RunnerOptions,
    oldest_available,
    queue_counts,
)
from ..runtime import logs, metrics
from ..runtime.probes import ProbesUnavailable, serve_probes
from ..runtime.settings import Settings
from ..slack.periodic import with_retention
from ..slack.preflight import SlackSetupError, check_worker
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
                counts=queue_counts(conn, prefix),
                oldest_available_s=oldest_available(conn, prefix),
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


def worker(
    url: str,
    prefix: str,
    settings: Settings,
    queues: tuple[str, ...],
    imports: tuple[str, ...],
    node: str | None,
    no_notify: bool,
    poll_interval: float,
    shutdown_grace: float,
    heartbeat_interval: float,
    heartbeat_timeout: float,
    no_fast_rescue: bool,
    prune_max_age: float | None,
    rescue_after: float | None,
    crontab: tuple[str, ...],
) -> None:
    """Check the options and the Slack setup, then run the queues until SIGTERM."""
    logs.configure(settings.log_level, settings.log_format)
    import_worker_modules(imports)
    client = Client(url, prefix=prefix, notify=settings.notify and not no_notify)
    maintenance = MaintenanceOptions(
        prune_max_age=prune_max_age,
        rescue_after=rescue_after,
        fast_rescue=not no_fast_rescue,
        heartbeat_timeout=heartbeat_timeout,
    )
    if crontab and prune_max_age is not None and prune_max_age < 60:
        raise click.UsageError(
            f"--prune-max-age {prune_max_age:g}s with --cron: keep finished jobs at least a "
            "minute, or a worker starting later in the same minute would insert its job again"
        )
    options = RunnerOptions(
        poll_interval=poll_interval,
        shutdown_grace=shutdown_grace,
        heartbeat_interval=heartbeat_interval,
        maintenance=maintenance,
        rescue_interval=min(1.0, heartbeat_timeout / 3),
        crontab=with_retention(settings, queues, crontab),
    )
    runner = Runner(client, list(queues), node=node or settings.node, options=options)
    try:  # after the Runner has checked the --queue specs
        check_worker(settings, queues)
    except SlackSetupError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        asyncio.run(run_worker(runner, settings.metrics_port))
    except ProbesUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def import_worker_modules(modules: tuple[str, ...]) -> None:
    """Import the application's workers as ``python -m`` would find them: the working
    directory first on the path, so ``piiq worker --import myapp`` works from the app's
    directory without PYTHONPATH."""
    if modules and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise click.BadParameter(
                f"cannot import {module!r}: {exc}; run from the directory that holds it or "
                "add that directory to PYTHONPATH",
                param_hint="--import",
            ) from None
