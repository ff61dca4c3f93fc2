"""Read-only views of the jobs table for people: newest jobs, one job, counts per queue."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg

from . import _sqlfiles
from ._job import STATES, SUSPENDED, Job


def recent_jobs(
    conn: psycopg.Connection[Any],
    prefix: str = "public",
    *,
    state: str | None = None,
    queue: str | None = None,
    worker: str | None = None,
    limit: int = 10,
) -> list[Job]:
    if state is not None and state not in (*STATES, SUSPENDED):
        raise ValueError(
            f"state {state!r} is not a job state: use one of {', '.join((*STATES, SUSPENDED))}"
        )
    rows = conn.execute(
        _sqlfiles.load("recent_jobs.sql", prefix),
        {"state": state, "queue": queue, "worker": worker, "limit": limit},
    ).fetchall()
    return [Job.from_row(row) for row in rows]


def get_job(conn: psycopg.Connection[Any], job_id: int, prefix: str = "public") -> Job | None:
    row = conn.execute(_sqlfiles.load("get_job.sql", prefix), {"id": job_id}).fetchone()
    return Job.from_row(row) if row else None


def queue_counts(
    conn: psycopg.Connection[Any], prefix: str = "public"
) -> dict[str, dict[str, int]]:
    """``{queue: {state: count}}`` with every state present (0 when none)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    for queue, state, count in conn.execute(_sqlfiles.load("queue_counts.sql", prefix)):
        counts[queue][state] = count
    return dict(counts)


def oldest_available(conn: psycopg.Connection[Any], prefix: str = "public") -> dict[str, float]:
    """``{queue: seconds}`` its oldest available job has waited; queues without one are
    left out."""
    rows = conn.execute(_sqlfiles.load("oldest_available.sql", prefix))
    return {queue: seconds for queue, seconds in rows}
