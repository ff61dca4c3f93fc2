"""The benchmark workload through piiq's queue (see common.py)."""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg

from common import Clock, Result, paced_inserts, parse_args, result, run_main, wait_for
from piiq.queue import Client, Job, Runner, Worker, migrate_up

logging.getLogger("piiq.queue").setLevel(logging.WARNING)  # no job lines, as the peers
CLOCK = Clock()


def noop(job: Job) -> None:
    CLOCK.started()
    inserted_at = job.args.get("inserted_at")
    if inserted_at is not None:
        CLOCK.latency(inserted_at)
    CLOCK.finished()


class Noop(Worker):
    """A plain def: it runs on a job thread."""

    name = "bench.Noop"
    queue = "bench"

    def perform(self, job: Job) -> None:
        noop(job)


class AsyncNoop(Worker):
    """An async def, as the peers' jobs are: it runs on the event loop."""

    name = "bench.AsyncNoop"
    queue = "bench"

    async def perform(self, job: Job) -> None:
        noop(job)


async def run() -> Result:
    global CLOCK
    args = parse_args()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        migrate_up(conn)
    client = Client(args.database_url).open()  # connected before timing, as the peers' pools
    worker = AsyncNoop if args.async_perform else Noop
    started = time.perf_counter()  # building the jobs counts, as in the other peers
    client.insert_all([worker.new({"i": i}) for i in range(args.jobs)])
    enqueue_s = time.perf_counter() - started

    CLOCK = process_clock = Clock()
    limits = (args.concurrency, args.global_limit) if args.global_limit else args.concurrency
    runner = Runner(Client(args.database_url), {"bench": limits})
    task = asyncio.create_task(runner.run())
    await wait_for(lambda: len(process_clock.ends) >= args.jobs, 300, "all jobs to run")

    CLOCK = latency_clock = Clock()
    await paced_inserts(
        lambda at: client.ainsert(worker.new({"inserted_at": at})), args, latency_clock
    )
    runner.request_stop()
    await task
    await client.aclose()
    notes = [
        "insert_all: one INSERT ... SELECT FROM jsonb_array_elements statement; "
        "enqueue time includes building the jobs (Worker.new)",
        "the no-op perform is an async def, as the peers' are"
        if args.async_perform
        else "the no-op perform is a plain def: it runs on a thread (the peers' are async)",
        "Runner: SKIP LOCKED fetch per free slot, acks ride on the next fetch, LISTEN/NOTIFY",
    ]
    if args.global_limit:
        notes.append(
            f"global limit {args.global_limit}: each fetch takes the queue's advisory lock "
            "and counts its executing jobs"
        )
    return result("piiq", args, enqueue_s, process_clock, latency_clock, notes)


if __name__ == "__main__":
    run_main(run)
