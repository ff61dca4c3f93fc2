"""The execution (_execution.py): leased jobs run to outcomes, sync ones on job threads
and async ones on the loop, written by a real acker to a real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from piiq.queue import Client, Job, Snooze, Worker
from piiq.queue._acker import Acker
from piiq.queue._execution import Execution
from piiq.queue._queries import Queries
from piiq.queue._signals import Signals
from piiq.queue._threads import JobThreads

from .test_maintenance import load

THREADS: dict[str, int] = {}


class OnAThread(Worker):
    queue = "exec"

    def perform(self, job: Job) -> None:
        THREADS["sync"] = threading.get_ident()


class OnTheLoop(Worker):
    queue = "exec"

    async def perform(self, job: Job) -> Snooze:
        THREADS["async"] = threading.get_ident()
        return Snooze(30)


class Stuck(Worker):
    queue = "exec"
    timeout = 0.1
    release = threading.Event()

    def perform(self, job: Job) -> None:
        Stuck.release.wait(10)


class Endless(Worker):
    queue = "exec"

    async def perform(self, job: Job) -> None:
        await asyncio.sleep(3600)


@pytest.fixture
async def execution(
    queries: Queries, queue_client: Client, signals: Signals
) -> AsyncIterator[Execution]:
    acker = Acker(
        queries.ack, batch=100, interval=0.0, on_written=lambda: None,
        health=queries.health, signals=signals,
    )  # fmt: skip
    threads = JobThreads(asyncio.get_running_loop(), 2)
    yield Execution(queue_client, threads, acker.add, shutdown_grace=0.5)
    await acker.stop()
    assert await acker.flush()
    threads.shutdown()


async def run(
    execution: Execution,
    queries: Queries,
    signals: Signals,
    *jobs: Job,
    cancel: bool = False,
) -> list[Job]:
    """Lease ``jobs``, start each, and wait until each is finished (its outcome given to
    the acker); then wait until the acker wrote them all."""
    execution.client.insert_all(list(jobs))
    leased, _ = await queries.fetch("exec", len(jobs), None, [])
    done: list[Job] = []
    all_done = asyncio.Event()

    def finished(job: Job) -> None:
        done.append(job)
        if len(done) == len(leased):
            all_done.set()

    futures = [execution.start(job, finished) for job in leased]
    if cancel:
        for future in futures:
            future.cancel()
    await asyncio.wait_for(all_done.wait(), 10)
    written: set[int] = set()
    while written != {job.id for job in leased}:
        written.update(await signals.acked.wait())
    return leased


async def test_sync_work_runs_on_a_thread_and_async_work_on_the_loop(
    execution: Execution, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    sync, async_ = await run(execution, queries, signals, OnAThread.new({}), OnTheLoop.new({}))
    assert THREADS["sync"] != threading.get_ident() == THREADS["async"]
    assert load(queue_client, sync.id or 0).state == "completed"
    snoozed = load(queue_client, async_.id or 0)
    assert (snoozed.state, snoozed.attempt) == ("scheduled", 0)
    assert execution.outcomes == {"completed": 1, "snoozed": 1}
    assert sync.client is queue_client  # perform inserts and records through it


async def test_a_sync_job_past_its_timeout_fails_while_its_thread_runs_on(
    execution: Execution, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    Stuck.release.clear()
    (job,) = await run(execution, queries, signals, Stuck.new({}))
    stored = load(queue_client, job.id or 0)
    assert stored.state == "retryable" and stored.errors[0]["error"] == "timed out after 0.1 s"
    assert job.given_up == "timed out after 0.1 s"  # its job.record calls now raise
    Stuck.release.set()


async def test_an_unknown_worker_is_kept(
    execution: Execution, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    (job,) = await run(execution, queries, signals, Job(worker="gone.Worker", queue="exec"))
    stored = load(queue_client, job.id or 0)
    assert (stored.state, stored.attempt, stored.meta["unknown_worker"]) == ("scheduled", 0, 1)
    assert execution.outcomes == {"unknown_worker": 1}


async def test_a_job_cut_off_uses_its_attempt(
    execution: Execution, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    (job,) = await run(execution, queries, signals, Endless.new({}), cancel=True)
    stored = load(queue_client, job.id or 0)
    assert (stored.state, stored.attempt) == ("retryable", 1)
    assert stored.errors[0]["error"] == "cut off at shutdown: still running after the 0.5 s grace"
