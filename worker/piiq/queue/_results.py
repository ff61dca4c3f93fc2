"""What ``perform`` may return besides None (success), with Oban's meaning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snooze:
    """Run the job again in ``seconds`` without using up an attempt."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"Snooze({self.seconds!r}): seconds must not be negative")


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop the job for good: it becomes ``cancelled`` and is never retried."""

    reason: str = "cancelled"


@dataclass(frozen=True, slots=True)
class Discard:
    """Give up now: the job becomes ``discarded`` with ``reason`` in its errors, as when its
    attempts run out, but without retrying first (e.g. a revoked credential)."""

    reason: str


Result = Snooze | Cancel | Discard | None
