"""A job as Oban stores it: one row of ``oban_jobs``, with Oban's meaning for each column."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ._unique import Unique

STATES = (
    "available",
    "scheduled",
    "executing",
    "retryable",
    "completed",
    "discarded",
    "cancelled",
)
FINAL_STATES = ("completed", "discarded", "cancelled")
# Oban v14's state (piiq migrate --version 14): held until something outside the queue
# makes the job available; piiq never fetches, stages, rescues or prunes it.
SUSPENDED = "suspended"
MAX_NAME_LENGTH = 127  # Oban's check constraints: 0 < length(queue|worker) < 128
MAX_PRIORITY = 9

COLUMNS = (
    "id",
    "state",
    "queue",
    "worker",
    "args",
    "errors",
    "attempt",
    "max_attempts",
    "inserted_at",
    "scheduled_at",
    "attempted_at",
    "completed_at",
    "attempted_by",
    "discarded_at",
    "priority",
    "tags",
    "meta",
    "cancelled_at",
)


class JobError(ValueError):
    """A job that cannot be inserted as given; the message says which value and what to do."""


class LeaseLost(RuntimeError):
    """This attempt no longer owns its job: nothing it records is saved."""


def utcnow() -> datetime:
    """Now as Oban stores it: a naive timestamp in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(slots=True)
class Job:
    worker: str
    args: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    priority: int = 0
    max_attempts: int = 20
    tags: Sequence[str] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    unique: Unique | None = None
    # Set by the database.
    id: int | None = None
    state: str = "available"
    errors: Sequence[dict[str, Any]] = ()
    attempt: int = 0
    inserted_at: datetime | None = None
    attempted_at: datetime | None = None
    completed_at: datetime | None = None
    attempted_by: list[str] | None = None
    discarded_at: datetime | None = None
    cancelled_at: datetime | None = None
    # True when an insert found an existing live job with the same unique key.
    conflict: bool = False
    # The Client that leased the job (None in unit tests): perform uses it to insert
    # follow-up jobs and to record progress.
    client: Any = field(default=None, repr=False, compare=False)
    # Set by the runner when this attempt was given up (timed out, cut off at shutdown):
    # perform may still be running on its thread, but must not record more steps.
    given_up: str | None = field(default=None, repr=False, compare=False)

    def record(self, **fields: Any) -> None:
        """Merge ``fields`` into ``meta`` and save them at once, not at the ack.

        A worker whose side effects cannot be repeated (a message sent, a file deleted)
        records each step as it completes; a retry after a crash reads ``meta`` and skips
        what is done. Transient connection errors are retried. Raises ``LeaseLost`` when
        this attempt no longer owns the job (timed out, rescued, cancelled, handed back):
        the step is then not recorded, and perform should stop.
        """
        if self.given_up is not None:
            raise LeaseLost(f"job {self.id} was given up ({self.given_up}): step not recorded")
        self.meta.update(fields)
        if self.client is not None and self.id:
            producer = self.attempted_by[1] if self.attempted_by else None
            self.client.record_meta(self.id, fields, attempt=self.attempt, producer=producer)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Job:
        """Build a job from a row in ``COLUMNS`` order."""
        (
            id_,
            state,
            queue,
            worker,
            args,
            errors,
            attempt,
            max_attempts,
            inserted_at,
            scheduled_at,
            attempted_at,
            completed_at,
            attempted_by,
            discarded_at,
            priority,
            tags,
            meta,
            cancelled_at,
        ) = row
        return cls(
            worker=worker,
            args=args,
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            tags=tags if tags is not None else [],
            meta=meta or {},
            scheduled_at=scheduled_at,
            id=id_,
            state=state,
            errors=errors if errors is not None else [],
            attempt=attempt,
            inserted_at=inserted_at,
            attempted_at=attempted_at,
            completed_at=completed_at,
            attempted_by=attempted_by,
            discarded_at=discarded_at,
            cancelled_at=cancelled_at,
        )

    def validate(self) -> Job:
        """Check the job against Oban's constraints; raise JobError naming the bad value."""
        if type(self.args) is not dict and not isinstance(self.args, Mapping):
            raise JobError(
                f"job args must be a JSON object (a dict), got {type(self.args).__name__}: "
                "wrap the value, e.g. {'value': ...}"
            )
        for label, name in (("worker", self.worker), ("queue", self.queue)):
            if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
                raise JobError(
                    f"{label} name {name!r} must be a string of 1 to {MAX_NAME_LENGTH} "
                    "characters (Oban's limit)"
                )
        if (
            not isinstance(self.priority, int)
            or isinstance(self.priority, bool)
            or not 0 <= self.priority <= MAX_PRIORITY
        ):
            raise JobError(
                f"priority {self.priority!r} is out of range: use 0 (highest) to {MAX_PRIORITY}"
            )
        if (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or self.max_attempts < 1
        ):
            raise JobError(f"max_attempts {self.max_attempts!r} must be an integer of 1 or more")
        if self.tags and not all(isinstance(tag, str) for tag in self.tags):
            raise JobError(f"tags {self.tags!r} must all be strings")
        if type(self.meta) is not dict and not isinstance(self.meta, Mapping):
            raise JobError(f"meta must be a dict, got {type(self.meta).__name__}")
        return self

    def insert_record(self, now: datetime) -> list[Any]:
        """The tuple that ``insert_jobs.sql`` reads for this job; sets ``state`` and ``meta``."""
        later = (
            self.scheduled_at if self.scheduled_at is not None and self.scheduled_at > now else None
        )
        self.state = "scheduled" if later is not None else "available"
        if self.unique is not None:
            self.meta = {**self.meta, **self.unique.meta(self, now)}
        return [
            self.state,
            self.queue,
            self.worker,
            self.args,
            self.meta,
            self.tags,
            self.max_attempts,
            self.priority,
            later.isoformat() if later is not None else None,
        ]

    def check_json(self) -> None:
        """Raise JobError if args or meta cannot be stored as JSON."""
        for label, value in (("args", self.args), ("meta", self.meta)):
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise JobError(
                    f"job {label} for {self.worker} are not JSON-serialisable ({exc}): "
                    "pass strings, numbers, booleans, lists and dicts only"
                ) from None

    @property
    def unique_key(self) -> str | None:
        return self.meta.get("uniq_key")


def schedule_time(
    scheduled_at: datetime | None, schedule_in: float | timedelta | None
) -> datetime | None:
    """Resolve Oban's two ways of scheduling into one naive UTC timestamp (or None)."""
    if scheduled_at is not None and schedule_in is not None:
        raise JobError("give scheduled_at or schedule_in, not both")
    if schedule_in is not None:
        seconds = schedule_in.total_seconds() if isinstance(schedule_in, timedelta) else schedule_in
        if seconds < 0:
            raise JobError(f"schedule_in {schedule_in!r} must not be negative")
        return utcnow() + timedelta(seconds=seconds)
    if scheduled_at is not None and scheduled_at.tzinfo is not None:
        return scheduled_at.astimezone(UTC).replace(tzinfo=None)
    return scheduled_at


def leased_jobs(rows: Sequence[Sequence[Any]]) -> tuple[list[Job], int]:
    """The jobs of fetch_jobs.sql's rows, and how many the global limit allowed."""
    allowed = rows[0][-1]
    return [Job.from_row(row[:-1]) for row in rows if row[0] is not None], allowed
