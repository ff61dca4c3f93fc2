"""Queue benchmark peer: oban (the official Python port of Elixir Oban), version 0.7.0.

Runs the workload described in common.py through oban-py:

- schema: ``oban.schema.install(pool)`` (the documented programmatic install; same SQL as
  ``oban install``);
- enqueue: ``Oban.enqueue_many(jobs)``, the documented bulk API;
- worker: one ``Oban`` instance in server mode with ``queues={"default": C}``: the queue's
  ``limit`` is oban's knob for concurrent jobs per instance. Everything else is left at
  oban's defaults (psycopg 3 ``AsyncConnectionPool`` from ``Oban.create_pool``, the
  PostgreSQL LISTEN/NOTIFY notifier, stager, leader, pruner, lifeline, refresher);
- jobs are async no-op ``process`` methods.

Needs Python >= 3.12 (oban-py does).
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from oban import Oban, worker
from oban.schema import install

from common import Clock, Result, paced_inserts, parse_args, result, run_main, wait_for

SYSTEM = "oban"
QUEUE = "default"

# The clock of the phase being run; jobs of the latency phase carry "inserted_at".
CLOCK = Clock()


@worker(queue=QUEUE)
class NoopWorker:
    async def process(self, job: Any) -> None:
        CLOCK.started()
        inserted_at = job.args.get("inserted_at")
        if inserted_at is not None:
            CLOCK.latency(inserted_at)
        CLOCK.finished()


async def count_states(url: str) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT state::text, count(*) FROM oban_jobs GROUP BY 1")
        return {state: count for state, count in await cur.fetchall()}


async def run() -> Result:
    global CLOCK
    args = parse_args()
    notes: list[str] = [
        "driver: psycopg 3 AsyncConnectionPool from Oban.create_pool (defaults: 1..10 conns)",
        "schema: oban.schema.install(pool)",
        f"concurrency knob: queues={{'{QUEUE}': {args.concurrency}}} (queue limit)",
        "bulk enqueue: Oban.enqueue_many(jobs); note 0.7.0 runs one INSERT per job "
        "(one round trip each) inside one transaction, not a single multi-row statement",
        "enqueue time includes building the Job objects (NoopWorker.new)",
        "wake-up: LISTEN/NOTIFY (insert pg_notify 'oban_insert'); stager interval 1 s default",
        "completions are acked in batches on the producer's next fetch cycle",
    ]

    pool = await Oban.create_pool(args.database_url)
    try:
        await install(pool)

        # 1. enqueue
        payloads: list[dict[str, Any]] = [{} for _ in range(args.jobs)]
        client = Oban(pool=pool, name="BenchClient")  # client mode: no queues
        t0 = time.perf_counter()
        await client.enqueue_many([NoopWorker.new(p) for p in payloads])
        enqueue_s = time.perf_counter() - t0

        # 2. process
        CLOCK = process_clock = Clock()
        oban = Oban(pool=pool, queues={QUEUE: args.concurrency})
        await oban.start()
        try:
            await wait_for(lambda: len(process_clock.ends) >= args.jobs, 600, "all jobs to run")
        finally:
            await oban.stop()
        states = await count_states(args.database_url)
        notes.append(f"db after processing: {states}")
        if states.get("completed", 0) != args.jobs:
            raise RuntimeError(f"expected {args.jobs} completed jobs, found {states}")

        # 3. latency: idle worker, jobs inserted one by one
        CLOCK = latency_clock = Clock()
        oban = Oban(pool=pool, queues={QUEUE: args.concurrency})
        await oban.start()
        try:
            await paced_inserts(
                lambda at: oban.enqueue(NoopWorker.new({"inserted_at": at})), args, latency_clock
            )
        finally:
            await oban.stop()
    finally:
        await pool.close()

    return result(SYSTEM, args, enqueue_s, process_clock, latency_clock, notes)


if __name__ == "__main__":
    run_main(run)
