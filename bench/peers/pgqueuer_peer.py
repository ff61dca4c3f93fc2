"""Queue benchmark peer: pgqueuer 1.6.0, on its psycopg 3 driver.

Runs the workload described in common.py through PgQueuer:

- driver: ``PsycopgDriver`` (psycopg 3 ``AsyncConnection``, autocommit), as the benchmark
  uses psycopg 3 wherever a library offers the choice (pgqueuer also has asyncpg drivers);
- schema: ``Queries.install()`` (what ``pgq install`` runs; default durability "durable");
- enqueue: ``Queries.enqueue`` with lists, the documented batch form (one unnest INSERT);
- worker: one ``PgQueuer`` (QueueManager + SchedulerManager) run with
  ``max_concurrent_tasks=C``, pgqueuer's per-worker concurrency cap. pgqueuer requires
  ``max_concurrent_tasks >= 2 * batch_size``, so ``batch_size`` is lowered from its default
  10 to ``max(1, C // 2)`` when C < 20. Everything else is left at its defaults
  (LISTEN/NOTIFY via the table trigger, dequeue_timeout 30 s, buffers, heartbeats);
- jobs are async no-op entrypoints.

As pgqueuer's docs advise (a dedicated connection for the QueueManager's LISTEN), the
producer (enqueue) side uses its own connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import psycopg
from pgqueuer import PgQueuer, PsycopgDriver, Queries
from pgqueuer.models import Job

from common import Clock, Result, paced_inserts, parse_args, result, run_main, wait_for

SYSTEM = "pgqueuer"
ENTRYPOINT = "noop"

# The clock of the phase being run; jobs of the latency phase carry "inserted_at".
CLOCK = Clock()


def build_worker(conn: psycopg.AsyncConnection) -> PgQueuer:
    pgq = PgQueuer.from_psycopg_connection(conn)

    @pgq.entrypoint(ENTRYPOINT)
    async def noop(job: Job) -> None:
        CLOCK.started()
        if job.payload:
            CLOCK.latency(json.loads(job.payload)["inserted_at"])
        CLOCK.finished()

    return pgq


async def run_phase(url: str, concurrency: int, body: Callable[[], asyncio.Future[None]]) -> None:
    """Start one worker on its own connection, run body, then stop the worker."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        pgq = build_worker(conn)
        task = asyncio.create_task(
            pgq.run(batch_size=max(1, min(10, concurrency // 2)), max_concurrent_tasks=concurrency)
        )
        try:
            await body()
        finally:
            pgq.shutdown.set()
            await asyncio.wait_for(task, 60)


async def run() -> Result:
    global CLOCK
    args = parse_args()
    batch_size = max(1, min(10, args.concurrency // 2))
    notes: list[str] = [
        "driver: PsycopgDriver (psycopg 3 AsyncConnection, autocommit); asyncpg drivers not used",
        "schema: Queries.install() (as `pgq install`, durability=durable)",
        f"concurrency knob: run(max_concurrent_tasks={args.concurrency}); "
        f"batch_size={batch_size} (default 10 is not allowed: must be <= max_concurrent_tasks/2)",
        "bulk enqueue: Queries.enqueue(list, list, list) = one unnest INSERT statement",
        "wake-up: LISTEN/NOTIFY (statement trigger on the queue table); "
        "dequeue_timeout 30 s default, re-polls every 0.1 s while work is queued",
        "producer uses its own connection; the worker's one connection carries LISTEN and "
        "all its queries",
        "completions are logged in buffered batches (size batch_size or every 0.1 s)",
    ]

    async with await psycopg.AsyncConnection.connect(args.database_url, autocommit=True) as pconn:
        queries = Queries(PsycopgDriver(pconn))
        await queries.install()

        # 1. enqueue
        n = args.jobs
        entrypoints = [ENTRYPOINT] * n
        payloads: list[bytes | None] = [None] * n
        priorities = [0] * n
        t0 = time.perf_counter()
        await queries.enqueue(entrypoints, payloads, priorities)
        enqueue_s = time.perf_counter() - t0

        # 2. process
        CLOCK = process_clock = Clock()

        async def process() -> None:
            await wait_for(lambda: len(process_clock.ends) >= n, 600, "all jobs to run")

        await run_phase(args.database_url, args.concurrency, process)
        cur = await pconn.execute(
            "SELECT (SELECT count(*) FROM pgqueuer), "
            "(SELECT count(*) FROM pgqueuer_log WHERE status = 'successful')"
        )
        queued, logged = await cur.fetchone()  # type: ignore[misc]
        notes.append(f"db after processing: {queued} left in pgqueuer, {logged} logged successful")
        if queued != 0 or logged != n:
            raise RuntimeError(f"expected 0 queued and {n} successful, got {queued}, {logged}")

        # 3. latency: idle worker, jobs inserted one by one
        CLOCK = latency_clock = Clock()

        async def latency() -> None:
            await paced_inserts(
                lambda at: queries.enqueue(ENTRYPOINT, json.dumps({"inserted_at": at}).encode()),
                args,
                latency_clock,
            )

        await run_phase(args.database_url, args.concurrency, latency)

    return result(SYSTEM, args, enqueue_s, process_clock, latency_clock, notes)


if __name__ == "__main__":
    run_main(run)
