"""Unique job options, enforced by a unique index over a key kept in ``meta``.

Unlike Oban's open-source lookup-then-insert, PostgreSQL itself refuses a second live job
with the same key, so concurrent inserts, bulk inserts and several ingress replicas
cannot race. A period is a time bucket aligned to the epoch (as River does): two inserts
conflict when they fall in the same bucket.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._job import Job

# A job keeps its key while it moves between these states (fetch, retry, snooze, rescue),
# so a state change never collides with another row's key.
REQUIRED_STATES = ("available", "scheduled", "executing", "retryable")
OPTIONAL_STATES = ("completed", "discarded", "cancelled")
DEFAULT_STATES = (*REQUIRED_STATES, "completed")


@dataclass(frozen=True, slots=True)
class Unique:
    """How to recognise a duplicate job.

    keys: the args fields that make the key (None means all of args).
    key: an explicit key instead of args fields (e.g. a Slack event_id).
    by_queue: whether the queue is part of the key.
    period: seconds; jobs inserted in the same period conflict (None: forever).
    states: the states in which a job blocks duplicates.
    """

    keys: tuple[str, ...] | None = None
    key: str | None = None
    by_queue: bool = True
    period: float | None = None
    states: tuple[str, ...] = DEFAULT_STATES

    def __post_init__(self) -> None:
        states = tuple(self.states)
        unknown = [s for s in states if s not in REQUIRED_STATES + OPTIONAL_STATES]
        if unknown:
            raise ValueError(
                f"unique states {unknown!r} are not job states: choose from "
                f"{', '.join(REQUIRED_STATES + OPTIONAL_STATES)}"
            )
        missing = [s for s in REQUIRED_STATES if s not in states]
        if missing:
            raise ValueError(
                f"unique states must include {', '.join(REQUIRED_STATES)} (missing "
                f"{', '.join(missing)}): a job moves between them while it runs, and the key "
                "must stay with it; add completed, discarded or cancelled to block longer"
            )
        if self.period is not None and self.period <= 0:
            raise ValueError(f"unique period {self.period!r} must be a positive number of seconds")
        if self.keys is not None:
            object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "states", states)

    @classmethod
    def coerce(cls, value: Unique | dict[str, Any] | Iterable[str] | bool | None) -> Unique | None:
        """Accept a Unique, a dict of its fields, a list of args keys, True or None."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, Unique):
            return value
        if isinstance(value, dict):
            return cls(**value)
        return cls(keys=tuple(value))

    def key_for(self, job: Job, now: datetime) -> str:
        if self.key is not None:
            source: Any = self.key
        elif self.keys is None:
            source = job.args
        else:
            source = {k: job.args.get(k) for k in self.keys}
        parts: list[Any] = [job.worker, job.queue if self.by_queue else None, source]
        if self.period is not None:
            epoch = now.replace(tzinfo=UTC).timestamp()
            parts.append(int(epoch // self.period))
        parts.append(sorted(self.states))
        canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:40]

    def meta(self, job: Job, now: datetime) -> dict[str, str]:
        return {
            "uniq_key": self.key_for(job, now),
            "uniq_states": "," + ",".join(self.states) + ",",
        }
