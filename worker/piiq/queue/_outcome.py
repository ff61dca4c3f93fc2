"""Turn what ``perform`` did into the job's next state, with Oban's semantics.

Pure functions: the runner, ``drain_queue`` and inline testing all use them, so a job
means the same thing however it ran.
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ._job import Job
from ._results import Cancel, Discard, Snooze
from ._worker import UnknownWorker, Worker

REDACTED = "[redacted]"


@dataclass(slots=True)
class Ack:
    """The outcome of one execution, as ``ack_jobs.sql`` applies it."""

    id: int
    attempt: int
    state: str
    delay: float = 0.0
    error: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    attempt_delta: int = 0
    kind: str | None = None  # an outcome word of its own (unknown_worker), else from state
    reason: str | None = None  # why, for the log line (never args or exception text of perform)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "attempt": self.attempt,
            "state": self.state,
            "delay": self.delay,
            "error": self.error,
            "meta": self.meta,
            "attempt_delta": self.attempt_delta,
        }

    @property
    def outcome(self) -> str:
        """A word for logs and counts: completed, retryable, discarded, cancelled, snoozed."""
        if self.kind is not None:
            return self.kind
        return "snoozed" if self.state == "scheduled" else self.state


def ack_params(acks: list[Ack], producer: str) -> dict[str, Any]:
    """Parameters for ``ack_jobs.sql``: the outcomes of jobs leased by ``producer``."""
    return {
        "acks": json.dumps([a.record() for a in acks]),
        "ids": [a.id for a in acks],
        "producer": producer,
    }


class JobTimedOut(Exception):
    """perform ran longer than its worker's timeout; the message is the error entry."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")


class JobCutOff(Exception):
    """perform was still running when the shutdown grace ran out."""

    def __init__(self, grace: float) -> None:
        super().__init__(f"cut off at shutdown: still running after the {grace:g} s grace")


def cut_off_ack(job: Job, grace: float) -> Ack:
    """The ack of a job stopped at the shutdown grace: the attempt counts (no refund, or a
    job that always outlives the grace would loop forever); retried at once elsewhere."""
    error = error_entry(job, str(JobCutOff(grace)))
    state = "discarded" if job.attempt >= job.max_attempts else "retryable"
    return Ack(job.id or 0, job.attempt, state, delay=0.0, error=error)


def error_entry(job: Job, message: str) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"at": at, "attempt": job.attempt, "error": message}


def describe_exception(exc: BaseException, job: Job, worker: Worker | None) -> str:
    """The error text stored in ``errors``: type, message and traceback, sensitive args removed."""
    if isinstance(exc, JobTimedOut | JobCutOff):
        return str(exc)  # the queue's own words: no traceback, nothing of the job's data
    if worker is not None:
        text = worker.describe_error(exc)
    else:
        text = "".join(traceback.format_exception(exc)).rstrip()
    return scrub_text(text, job, worker)


def scrub_text(text: str, job: Job, worker: Worker | None) -> str:
    """Remove the values of the worker's sensitive args fields from ``text``."""
    fields = getattr(worker, "sensitive_args", ()) or ()
    for field in fields:
        value = job.args.get(field)
        for piece in _strings(value):
            if len(piece) >= 4:
                text = text.replace(piece, REDACTED)
    return text


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def outcome_of(job: Job, worker: Worker | None, result: Any) -> Ack:
    """The ack for a job whose perform returned ``result`` or raised it (an exception)."""
    if isinstance(result, UnknownWorker):
        return unknown_worker_ack(job, result)
    if isinstance(result, BaseException):
        error = error_entry(job, describe_exception(result, job, worker))
        if job.attempt >= job.max_attempts:
            return Ack(job.id or 0, job.attempt, "discarded", error=error)
        delay = worker.backoff(job) if worker is not None else 15.0
        return Ack(job.id or 0, job.attempt, "retryable", delay=float(delay), error=error)
    if isinstance(result, Snooze):
        snoozed = int(job.meta.get("snoozed", 0)) + 1
        return Ack(
            job.id or 0,
            job.attempt,
            "scheduled",
            delay=float(result.seconds),
            meta={"snoozed": snoozed},
            attempt_delta=-1,
        )
    if isinstance(result, Cancel | Discard):
        state = "cancelled" if isinstance(result, Cancel) else "discarded"
        reason = scrub_text(str(result.reason), job, worker)
        return Ack(job.id or 0, job.attempt, state, error=error_entry(job, f"{state}: {reason}"))
    if result is not None and inspect.isawaitable(result):
        return outcome_of(job, worker, _never_awaited(result, worker))
    return Ack(job.id or 0, job.attempt, "completed")


def _never_awaited(result: Awaitable[Any], worker: Worker | None) -> TypeError:
    """A plain ``def perform`` (one a decorator wraps, say) that returned an awaitable: its
    work never ran, so the attempt fails instead of counting as completed."""
    if inspect.iscoroutine(result):
        result.close()  # not awaited: no "never awaited" warning on top of the error
    name = type(worker).__name__ if worker is not None else "the worker"
    return TypeError(
        f"{name}.perform returned an awaitable ({type(result).__name__}) without being an "
        "async def, so piiq did not await it: declare perform with async def"
    )


UNKNOWN_WORKER_MAX_DELAY_S = 3600.0


def unknown_worker_ack(job: Job, exc: UnknownWorker) -> Ack:
    """A job whose worker this process cannot load is kept, never discarded: snoozed with
    backoff (30 s, 1 min, 2 min ... at most an hour), its attempt given back, the reason
    in ``errors`` and the count in ``meta.unknown_worker``. A deploy in the wrong order,
    or a worker pod that lacks an ``--import``, loses nothing: the job runs once a process
    that knows the worker leases it."""
    held = int(job.meta.get("unknown_worker", 0)) + 1
    delay = min(UNKNOWN_WORKER_MAX_DELAY_S, 15.0 * 2 ** min(held, 12))
    return Ack(
        job.id or 0,
        job.attempt,
        "scheduled",
        delay=delay,
        error=error_entry(job, f"{exc}; kept, trying again in {delay:g} s"),
        meta={"unknown_worker": held},
        attempt_delta=-1,
        kind="unknown_worker",
        reason=str(exc),
    )


def apply_ack(job: Job, ack: Ack, now: datetime) -> Job:
    """The job as the database will hold it after ``ack`` (for inline testing, no database)."""
    job.state = ack.state
    job.attempt += ack.attempt_delta
    if ack.error is not None:
        job.errors = [*job.errors, ack.error]
    if ack.meta:
        job.meta = {**job.meta, **ack.meta}
    if ack.state in ("retryable", "scheduled"):
        job.scheduled_at = now + timedelta(seconds=ack.delay)
    stamp = {"completed": "completed_at", "cancelled": "cancelled_at", "discarded": "discarded_at"}
    if ack.state in stamp:
        setattr(job, stamp[ack.state], now)
    return job
