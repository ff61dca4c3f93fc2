"""The one place that turns a job into an outcome: find its worker, call ``perform``
(sync or async, within its timeout), and decide the ack with Oban's semantics
(_outcome.py). The runner, ``drain_queue``, ``perform_job`` and inline testing all come
through here, so a job means the same thing however it ran.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, cast

from . import _telemetry
from ._job import Job, utcnow
from ._log import get_logger
from ._outcome import Ack, JobTimedOut, apply_ack, cut_off_ack, outcome_of
from ._results import Result
from ._threads import JobThreads
from ._worker import UnknownWorker, Worker, resolve_worker

log = get_logger(__name__)

# Outside the runner ------------------------------------------------------------------------


def perform_now(worker: Worker, job: Job) -> Any:
    """Call ``perform`` to the end, sync or async, from plain synchronous code.

    Returns what perform returned, or the exception it raised (not re-raised).
    """
    try:
        if type(worker).is_async():
            return _run_coroutine_blocking(worker, job)
        return worker.perform(job)
    except Exception as exc:
        return exc


def _coroutine(worker: Worker, job: Job) -> Coroutine[Any, Any, Result]:
    """``perform`` of a worker whose ``is_async()`` says it is an ``async def``."""
    return cast("Coroutine[Any, Any, Result]", worker.perform(job))


def _run_coroutine_blocking(worker: Worker, job: Job) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_coroutine(worker, job))
    # Called from inside an event loop (an async test): run on a private loop in a thread.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(_coroutine(worker, job))
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="piiq-perform")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def perform_to_outcome(job: Job) -> tuple[Ack, Any]:
    """Run a leased job in this process: its ack, and what perform returned or raised."""
    try:
        worker = resolve_worker(job.worker)()
    except UnknownWorker as exc:
        return outcome_of(job, None, exc), exc
    result = perform_now(worker, job)
    return outcome_of(job, worker, result), result


def run_inline(job: Job, client: Any) -> Job:
    """Oban's inline testing: execute now, in this process, without the database."""
    job.client = client
    job.state, job.attempt = "executing", job.attempt + 1
    job.attempted_at = utcnow()
    ack, _ = perform_to_outcome(job)
    return apply_ack(job, ack, utcnow())


# Inside the runner -------------------------------------------------------------------------


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


class Execution:
    """Runs leased jobs to their outcomes: sync ``perform`` on ``threads`` (never on the
    event loop), async ``perform`` on the loop; each outcome goes to ``report`` (the
    acker), is logged, counted in ``outcomes`` and emitted as telemetry."""

    def __init__(
        self,
        client: Any,
        threads: JobThreads,
        report: Callable[[Ack], None],
        shutdown_grace: float,
    ) -> None:
        self.client = client  # given to each job: perform inserts and records through it
        self.threads = threads
        self.report = report
        self.grace = shutdown_grace
        self.instances = WorkerInstances()
        self.outcomes: Counter[str] = Counter()

    def start(self, job: Job, finished: Callable[[Job], None]) -> asyncio.Future[Ack]:
        """Start ``job``; ``finished(job)`` runs once its outcome is reported.

        The future is cancelled to cut the job off (shutdown): its ack then says so and
        the attempt counts.
        """
        job.client = self.client
        if log.enabled(logging.INFO):  # two lines per job: skip building what is filtered
            log.info(
                "job.started",
                queue=job.queue,
                worker=job.worker,
                job_id=job.id,
                attempt=job.attempt,
            )
        if _telemetry.listening():
            _telemetry.emit(
                "job.start", queue=job.queue, worker=job.worker, job_id=job.id, attempt=job.attempt
            )
        try:
            worker = self.instances.get(job.worker)  # a worker's first job imports it
        except UnknownWorker as exc:
            worker, unknown = None, exc
        done = partial(self._done, job, time.perf_counter(), finished)
        running: asyncio.Future[Ack]
        if worker is None:
            running = asyncio.get_running_loop().create_future()
            running.set_result(outcome_of(job, None, unknown))
        else:
            timeout = worker.timeout_for(job)
            if not timeout and not type(worker).is_async():
                # The common case costs no task: the thread decides the ack as well.
                return self.threads.submit(_perform_sync, worker, job, on_done=done)
            running = asyncio.ensure_future(self._perform(job, worker, timeout))
        running.add_done_callback(done)
        return running

    def _done(
        self,
        job: Job,
        started: float,
        finished: Callable[[Job], None],
        running: asyncio.Future[Ack],
    ) -> None:
        try:
            if running.cancelled():  # cut off at the shutdown grace: the attempt counts
                job.given_up = f"cut off at shutdown after the {self.grace:g} s grace"
                ack = cut_off_ack(job, self.grace)
            elif (error := running.exception()) is not None:
                # Not an outcome (a BaseException out of perform): the job stays executing
                # under this process until its lease check hands it on (reconcile_jobs.sql).
                log.error(
                    "job.crashed", queue=job.queue, worker=job.worker, job_id=job.id,
                    error=type(error).__name__,
                )  # fmt: skip
                return
            else:
                ack = running.result()
            self.report(ack)
            self.record(job, ack, time.perf_counter() - started)
        finally:
            finished(job)

    def record(self, job: Job, ack: Ack, seconds: float) -> None:
        outcome = ack.outcome
        self.outcomes[outcome] += 1
        if ack.reason or log.enabled(logging.INFO):
            (log.warning if ack.reason else log.info)(
                f"job.{outcome}",
                queue=job.queue,
                worker=job.worker,
                job_id=job.id,
                attempt=job.attempt,
                duration_ms=round(seconds * 1000, 2),
                **({"reason": ack.reason} if ack.reason else {}),
            )
        if _telemetry.listening():
            _telemetry.emit(
                "job.stop",
                queue=job.queue,
                worker=job.worker,
                job_id=job.id,
                attempt=job.attempt,
                outcome=outcome,
                duration_s=seconds,
            )

    async def _perform(self, job: Job, worker: Worker, limit: float | None) -> Ack:
        """Async perform, or any perform with a time limit: past ``limit`` s the attempt is a
        failure ("timed out after N s"). An async perform is then cancelled; a sync one
        cannot be stopped (Python cannot kill a thread): its thread runs on until perform
        returns, its result is dropped, its ``job.record`` calls raise ``LeaseLost``, and
        a fresh thread takes its place so the queue's concurrency holds."""
        result: Any
        try:
            if limit:
                result = await self._within(job, worker, limit)
            else:
                result = await _coroutine(worker, job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            result = exc
        return outcome_of(job, worker, result)

    async def _within(self, job: Job, worker: Worker, limit: float) -> Any:
        """perform's result, or JobTimedOut once ``limit`` seconds have passed."""
        if type(worker).is_async():
            pending: asyncio.Future[Any] = asyncio.ensure_future(_coroutine(worker, job))
        else:
            pending = self.threads.submit(worker.perform, job)
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


def _perform_sync(worker: Worker, job: Job) -> Ack:
    """On a job thread: perform, and the ack of what it returned or raised."""
    result: Result | Exception
    try:
        result = cast(Result, worker.perform(job))
    except Exception as exc:
        result = exc
    return outcome_of(job, worker, result)


def _drop_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so asyncio does not log it as never retrieved
