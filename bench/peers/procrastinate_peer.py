"""Queue benchmark peer: procrastinate 3.10.0, on its psycopg 3 connector.

Runs the workload described in common.py through procrastinate:

- connector: ``PsycopgConnector(conninfo=URL)`` (psycopg 3 ``AsyncConnectionPool`` with
  procrastinate's defaults);
- schema: ``app.schema_manager.apply_schema_async()`` (what ``procrastinate schema --apply``
  runs on a fresh database);
- enqueue: ``Task.batch_defer_async(*kwargs)``, the documented batch defer (one statement);
- worker: one ``app.run_worker_async(concurrency=C)`` task in this process: ``concurrency``
  is procrastinate's knob for parallel async jobs per worker. Everything else is left at its
  defaults (listen_notify=True, fetch_job_polling_interval 5 s, delete_jobs "never"), except
  install_signal_handlers=False because the worker is stopped by cancelling its task, the
  documented way for an embedded worker;
- jobs are async no-op tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from procrastinate import App, PsycopgConnector

from common import Clock, Result, paced_inserts, parse_args, result, run_main, wait_for

SYSTEM = "procrastinate"
TASK_NAME = "noop"

# The clock of the phase being run; jobs of the latency phase carry "inserted_at".
CLOCK = Clock()


async def noop(inserted_at: float | None = None) -> None:
    CLOCK.started()
    if inserted_at is not None:
        CLOCK.latency(inserted_at)
    CLOCK.finished()


async def run_phase(app: App, concurrency: int, body: Callable[[], Any]) -> None:
    """Start one worker task, run body, then stop the worker by cancelling its task."""
    worker = asyncio.create_task(
        app.run_worker_async(concurrency=concurrency, install_signal_handlers=False)
    )
    try:
        await body()
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(worker, 60)


async def run() -> Result:
    global CLOCK
    args = parse_args()
    notes: list[str] = [
        "driver: PsycopgConnector (psycopg 3 AsyncConnectionPool, procrastinate defaults: "
        "4 connections, one held by the LISTEN side task, check_connection on every checkout)",
        "schema: app.schema_manager.apply_schema_async() (as `procrastinate schema --apply`)",
        f"concurrency knob: run_worker_async(concurrency={args.concurrency})",
        "bulk enqueue: Task.batch_defer_async(*kwargs) = one procrastinate_defer_jobs_v1 call",
        "worker fetches one job per query (procrastinate_fetch_job_v2) and finishes each job "
        "with its own query",
        "wake-up: LISTEN/NOTIFY (row trigger on insert); fetch_job_polling_interval 5 s default",
        "jobs are kept after success (delete_jobs='never', the default)",
    ]

    app = App(connector=PsycopgConnector(conninfo=args.database_url))
    task = app.task(name=TASK_NAME)(noop)

    async with app.open_async():
        await app.schema_manager.apply_schema_async()

        # 1. enqueue
        kwargs: list[dict[str, Any]] = [{} for _ in range(args.jobs)]
        t0 = time.perf_counter()
        await task.batch_defer_async(*kwargs)
        enqueue_s = time.perf_counter() - t0

        # 2. process
        CLOCK = process_clock = Clock()

        async def process() -> None:
            await wait_for(lambda: len(process_clock.ends) >= args.jobs, 600, "all jobs to run")

        await run_phase(app, args.concurrency, process)
        async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
            cur = await conn.execute(
                "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"
            )
            states = {status: count for status, count in await cur.fetchall()}
        notes.append(f"db after processing: {states}")
        if states.get("succeeded", 0) != args.jobs:
            raise RuntimeError(f"expected {args.jobs} succeeded jobs, found {states}")

        # 3. latency: idle worker, jobs inserted one by one
        CLOCK = latency_clock = Clock()

        async def latency() -> None:
            await paced_inserts(lambda at: task.defer_async(inserted_at=at), args, latency_clock)

        await run_phase(app, args.concurrency, latency)

    return result(SYSTEM, args, enqueue_s, process_clock, latency_clock, notes)


if __name__ == "__main__":
    run_main(run)
