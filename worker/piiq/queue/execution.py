"""Execute one leased job inside the runner: find its worker, run perform, decide the ack."""

from __future__ import annotations

import asyncio
from typing import Any

from .job import Job
from .outcome import Ack, outcome_of
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

    Exceptions from perform become failures (retry or discard); a timeout is a failure.
    Cancellation (shutdown) propagates: the job is then handed back, not acked.
    """
    try:
        worker = instances.get(job.worker)
    except UnknownWorker as exc:
        return outcome_of(job, None, exc)
    result: Any
    try:
        if type(worker).is_async():
            pending = worker.perform(job)
        else:
            pending = threads.submit(worker.perform, job)
        timeout = type(worker).timeout
        result = await (asyncio.wait_for(pending, timeout) if timeout else pending)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        result = exc
    return outcome_of(job, worker, result)
