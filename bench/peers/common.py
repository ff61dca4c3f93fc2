"""What every system in the queue benchmark does, the same way.

Each system runs in its own process on its own fresh database:

1. enqueue: insert ``--jobs`` no-op jobs in bulk (the system's fastest documented way),
   timed from the call to its return;
2. process: start one worker process (this one) with ``--concurrency`` slots on those jobs;
   timed from the first job's start to the last job's end (startup excluded for all);
3. latency: with the worker idle, insert ``--latency-jobs`` jobs one by one,
   ``--latency-gap-ms`` apart; each job's args carry its insert time (time.time()) and
   the job notes when it starts; report p50/p95 of start - insert.

The script prints one JSON line (``Result``) on stdout, nothing else there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from typing import Any


@dataclass
class Result:
    system: str
    version: str
    jobs: int
    concurrency: int
    enqueue_jobs_per_s: float
    process_jobs_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    notes: list[str] = field(default_factory=list)


@dataclass
class Clock:
    """Collects job start/end times from inside perform (any thread)."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def started(self) -> None:
        self.starts.append(time.perf_counter())

    def finished(self) -> None:
        self.ends.append(time.perf_counter())

    def latency(self, inserted_at: float) -> None:
        self.latencies.append((time.time() - inserted_at) * 1000)

    def process_rate(self) -> float:
        return len(self.ends) / (max(self.ends) - min(self.starts))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--latency-gap-ms", type=float, default=20.0)
    parser.add_argument(
        "--global-limit", type=int, default=None, help="piiq only: the queue's global limit"
    )
    parser.add_argument(
        "--async-perform",
        action="store_true",
        help="piiq only: the no-op perform is an async def, as the peers' jobs are",
    )
    return parser.parse_args()


def emit(result: Result) -> None:
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    sys.stdout.flush()


async def wait_for(predicate: Callable[[], bool], within: float, what: str) -> None:
    """Wait for ``predicate`` while yielding to the event loop the worker runs on."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.002)


async def paced_inserts(
    insert: Callable[[float], Awaitable[Any]], args: argparse.Namespace, clock: Clock
) -> None:
    """The latency phase: settle, insert one job every --latency-gap-ms, wait for them.

    ``insert(inserted_at)`` enqueues one job carrying ``inserted_at`` (time.time()).
    """
    await asyncio.sleep(1.0)  # let the worker settle into idle
    gap = args.latency_gap_ms / 1000
    start = time.perf_counter()
    for i in range(args.latency_jobs):
        delay = start + i * gap - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await insert(time.time())
    await wait_for(lambda: len(clock.latencies) >= args.latency_jobs, 60, "latency jobs to run")


def result(
    system: str,
    args: argparse.Namespace,
    enqueue_s: float,
    process: Clock,
    latency: Clock,
    notes: list[str],
) -> Result:
    """The Result of one run, from its timings."""
    return Result(
        system=system,
        version=version(system),
        jobs=args.jobs,
        concurrency=args.concurrency,
        enqueue_jobs_per_s=round(args.jobs / enqueue_s),
        process_jobs_per_s=round(process.process_rate()),
        latency_p50_ms=round(percentile(latency.latencies, 50), 2),
        latency_p95_ms=round(percentile(latency.latencies, 95), 2),
        notes=notes,
    )


def run_main(run: Callable[[], Coroutine[Any, Any, Result]]) -> None:
    """Run the peer's coroutine and print its Result; logs go to stderr."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    emit(asyncio.run(run()))


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)
