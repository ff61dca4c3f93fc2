"""The benchmark workload through piiq's queue (see common.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from importlib.metadata import version

import psycopg
import structlog
from common import Clock, Result, emit, parse_args, percentile
from piiq.queue import Client, Job, Runner, Worker, migrate_up

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
clock = Clock()


class Noop(Worker):
    name = "bench.Noop"
    queue = "bench"

    def perform(self, job: Job) -> None:
        clock.started()
        inserted_at = job.args.get("inserted_at")
        if inserted_at is not None:
            clock.latency(inserted_at)
        clock.finished()


async def wait_until(predicate, within: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark phase did not finish in time")
        await asyncio.sleep(0.002)


async def main() -> None:
    args = parse_args()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        migrate_up(conn)
    client = Client(args.database_url).open()  # connected before timing, as the peers' pools
    started = time.perf_counter()  # building the jobs counts, as in the other peers
    client.insert_all([Noop.new({"i": i}) for i in range(args.jobs)])
    enqueue_rate = args.jobs / (time.perf_counter() - started)

    runner = Runner(Client(args.database_url), {"bench": args.concurrency})
    task = asyncio.create_task(runner.run())
    await wait_until(lambda: len(clock.ends) >= args.jobs)
    process_rate = clock.process_rate()

    clock.latencies.clear()
    await asyncio.sleep(0.5)  # idle
    for i in range(args.latency_jobs):
        job = Noop.new({"i": i, "inserted_at": time.time()})
        await client.ainsert(job)
        await asyncio.sleep(args.latency_gap_ms / 1000)
    await wait_until(lambda: len(clock.latencies) >= args.latency_jobs, within=30)
    runner.request_stop()
    await task
    await client.aclose()
    emit(
        Result(
            system="piiq",
            version=version("piiq"),
            jobs=args.jobs,
            concurrency=args.concurrency,
            enqueue_jobs_per_s=round(enqueue_rate),
            process_jobs_per_s=round(process_rate),
            latency_p50_ms=round(percentile(clock.latencies, 50), 2),
            latency_p95_ms=round(percentile(clock.latencies, 95), 2),
            notes=[
                "insert_all: one INSERT ... SELECT FROM jsonb_array_elements statement",
                "Runner: SKIP LOCKED fetch per free slot, batched acks, LISTEN/NOTIFY",
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
