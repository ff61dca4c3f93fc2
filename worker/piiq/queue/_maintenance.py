"""Maintenance that loses nothing: the Pruner, the Lifeline and fast rescue of dead workers.

Each pass is a few short statements, every one its own transaction. Batches are bounded
(``limit``) and taken with ``FOR UPDATE SKIP LOCKED``, so two passes at once (a CronJob
and a worker, two CronJob pods) split the work between them: no double counting, no
waits, no deadlocks.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from . import _sqlfiles
from ._job import FINAL_STATES
from ._steps import Steps, run_sync

DAY = 86400.0
STAMPS = {"completed": "completed_at", "cancelled": "cancelled_at", "discarded": "discarded_at"}


@dataclass(frozen=True, slots=True)
class MaintenanceOptions:
    """What a pass does. ``None`` turns a part off."""

    prune_max_age: float | None = 7 * DAY  # finished jobs older than this are deleted
    prune_max_age_by_state: dict[str, float] = field(default_factory=dict)  # e.g. discarded: 30 d
    prune_limit: int = 10_000  # rows per DELETE
    rescue_after: float | None = 30 * 60.0  # Lifeline: executing longer than this
    fast_rescue: bool = True  # rescue the jobs of workers that stopped heartbeating
    heartbeat_timeout: float = 30.0  # a worker silent for longer than this is dead
    rescue_limit: int = 10_000
    producer_retention: float = DAY  # forget dead worker rows after this (when they hold no job)

    def __post_init__(self) -> None:
        unknown = set(self.prune_max_age_by_state) - set(FINAL_STATES)
        if unknown:
            raise ValueError(
                f"prune ages given for {sorted(unknown)}: only finished states are pruned "
                f"({', '.join(FINAL_STATES)})"
            )
        for label, value in (
            ("prune_limit", self.prune_limit),
            ("rescue_limit", self.rescue_limit),
        ):
            if value < 1:
                raise ValueError(f"{label} {value!r} must be 1 or more")

    def max_age(self, state: str) -> float | None:
        return self.prune_max_age_by_state.get(state, self.prune_max_age)


@dataclass(slots=True)
class PassSummary:
    pruned: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FINAL_STATES, 0))
    rescued: int = 0  # back to available
    discarded: int = 0  # rescued with no attempt left
    rescued_by_queue: dict[str, int] = field(default_factory=dict)  # back to available
    discarded_by_queue: dict[str, int] = field(default_factory=dict)
    producers_forgotten: int = 0
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, other: PassSummary) -> None:
        for state, count in other.pruned.items():
            self.pruned[state] += count
        self.rescued += other.rescued
        self.discarded += other.discarded
        _add(self.rescued_by_queue, other.rescued_by_queue)
        _add(self.discarded_by_queue, other.discarded_by_queue)
        self.producers_forgotten += other.producers_forgotten


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key, count in counts.items():
        totals[key] = totals.get(key, 0) + count


def rescue_steps(prefix: str, options: MaintenanceOptions) -> Steps[PassSummary]:
    """Rescue orphaned jobs in batches until none is left."""
    summary = PassSummary()
    if options.rescue_after is None and not options.fast_rescue:
        return summary
    query = _sqlfiles.load("rescue_jobs.sql", prefix)
    params = {
        "fast_rescue": options.fast_rescue,
        "heartbeat_timeout": options.heartbeat_timeout,
        "rescue_after": options.rescue_after,
        "limit": options.rescue_limit,
    }
    while True:
        rows = yield query, params
        for _, state, queue in rows:
            if state == "discarded":
                summary.discarded += 1
                _add(summary.discarded_by_queue, {queue: 1})
            else:
                summary.rescued += 1
                _add(summary.rescued_by_queue, {queue: 1})
        if len(rows) < options.rescue_limit:
            return summary


def prune_steps(prefix: str, options: MaintenanceOptions) -> Steps[PassSummary]:
    """Delete finished jobs past their age, one bounded batch per statement."""
    summary = PassSummary()
    template = _sqlfiles.load("prune_jobs.sql", prefix)
    for state in FINAL_STATES:
        max_age = options.max_age(state)
        if max_age is None:
            continue
        query = template.replace("{{stamp}}", STAMPS[state])
        params = {"state": state, "max_age": max_age, "limit": options.prune_limit}
        while True:
            rows = yield query, params
            summary.pruned[state] += len(rows)
            if len(rows) < options.prune_limit:
                break
    rows = yield (
        _sqlfiles.load("forget_producers.sql", prefix),
        {"retention": options.producer_retention},
    )
    summary.producers_forgotten = len(rows)
    return summary


def pass_steps(
    prefix: str, options: MaintenanceOptions, *, prune: bool = True
) -> Steps[PassSummary]:
    """One maintenance pass: rescue first (it frees work), then prune."""
    started = time.perf_counter()
    summary = yield from rescue_steps(prefix, options)
    if prune and (options.prune_max_age is not None or options.prune_max_age_by_state):
        summary.add((yield from prune_steps(prefix, options)))
    summary.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return summary


def run_maintenance_pass(
    conn: psycopg.Connection[Any], prefix: str, options: MaintenanceOptions, *, prune: bool = True
) -> PassSummary:
    """One maintenance pass on ``conn`` (what ``piiq maintenance`` runs from a CronJob)."""
    return run_sync(conn, pass_steps(prefix, options, prune=prune))
