"""Execute one leased job inside the runner: find its worker, run perform, decide the ack."""

from __future__ import annotations

import asyncio
from typing import Any

from .job import Job
from .outcome import Ack, JobTimedOut, outcome_of
from .threads import JobThreads
from .worker import UnknownWorker, Worker, resolve_worker


class WorkerInstances:
    """One instance per worker class per process: workers may hold clients and caches."""

    def __init__(self) -> None:
        self._instances: dict[type[Worker], Worker] = {}

    def get(self, name: str) -> Worker:
        cls = resolve_worker(name)
        instance = self._instances.get(cls)
        if instance is None:
            instance = self._instances[cls] = cls()
        return instance


async def execute(job: Job, instances: WorkerInstances, threads: JobThreads) -> Ack:
    """Run ``job`` to an outcome. Sync perform runs on ``threads``, never on the loop.

    Exceptions from perform become failures (retry or discard). Past the worker's
    ``timeout_for(job)`` the attempt is a failure with the error "timed out after N s":
    an async perform is cancelled; a sync one cannot be stopped (Python has no way to kill
    a thread), so its thread runs on until perform returns, its result is dropped, its
    ``job.record`` calls raise ``LeaseLost``, and a fresh thread takes its place so the
    queue's concurrency holds. Cancellation (shutdown) propagates to the caller.
    """
    try:
        worker = instances.get(job.worker)
    except UnknownWorker as exc:
        return outcome_of(job, None, exc)
    result: Any
    timeout = worker.timeout_for(job)
    try:
        if timeout:
            result = await _within(job, worker, threads, timeout)
        elif type(worker).is_async():
            result = await worker.perform(job)
        else:
            result = await threads.submit(worker.perform, job)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        result = exc
    return outcome_of(job, worker, result)


async def _within(job: Job, worker: Worker, threads: JobThreads, limit: float) -> Any:
    """perform's result, or JobTimedOut once ``limit`` seconds have passed."""
    if type(worker).is_async():
        pending: asyncio.Future[Any] = asyncio.ensure_future(worker.perform(job))
    else:
        pending = threads.submit(worker.perform, job)
    try:
        done, _ = await asyncio.wait((pending,), timeout=limit)
    except asyncio.CancelledError:
        pending.cancel()  # shutdown: an async perform stops with us
        raise
    if done:
        return pending.result()
    job.given_up = f"timed out after {limit:g} s"
    pending.cancel()
    pending.add_done_callback(_drop_outcome)
    return JobTimedOut(limit)


def _drop_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it as never retrieved
