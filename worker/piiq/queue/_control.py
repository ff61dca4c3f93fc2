"""Pause, resume and scale queues on every running worker (Oban's ``pause_queue``,
``resume_queue`` and ``scale_queue``), kept in ``piiq_queues`` so a worker that starts
later honours them too.

A change is written and announced on ``<prefix>.piiq_control`` in one statement; workers
apply it when notified, and read the table every ``RunnerOptions.control_interval``
anyway (workers without LISTEN, behind PgBouncer, and any notification missed).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg

from . import _sqlfiles


class QueueControl(NamedTuple):
    paused: bool = False
    local_limit: int | None = None  # replaces each worker's own limit; None keeps it


def control_channel(prefix: str) -> str:
    return f"{prefix}.piiq_control"


def pause_queue(conn: psycopg.Connection[Any], queue: str, prefix: str = "public") -> int:
    """Stop fetching ``queue`` on every worker (running jobs finish). Returns how many
    live workers serve it."""
    return _change(conn, queue, prefix, paused=True)


def resume_queue(conn: psycopg.Connection[Any], queue: str, prefix: str = "public") -> int:
    return _change(conn, queue, prefix, paused=False)


def scale_queue(
    conn: psycopg.Connection[Any], queue: str, limit: int | None, prefix: str = "public"
) -> int:
    """Run at most ``limit`` jobs of ``queue`` at once in every worker (a global limit
    still applies); None gives each worker its own ``--queue`` limit back."""
    if limit is not None and limit < 1:
        raise ValueError(f"queue {queue!r}: limit {limit} must be 1 or more")
    return _change(conn, queue, prefix, scale=True, limit=limit)


def queue_controls(
    conn: psycopg.Connection[Any], prefix: str = "public", queues: list[str] | None = None
) -> dict[str, QueueControl]:
    rows = conn.execute(_sqlfiles.load("queue_controls.sql", prefix), {"queues": queues})
    return {name: QueueControl(paused, limit) for name, paused, limit in rows}


def _change(
    conn: psycopg.Connection[Any],
    queue: str,
    prefix: str,
    *,
    paused: bool | None = None,
    scale: bool = False,
    limit: int | None = None,
) -> int:
    if not queue or len(queue) > 127:
        raise ValueError(f"queue name {queue!r} must be 1 to 127 characters")
    params = {
        "queue": queue,
        "paused": paused,
        "scale": scale,
        "limit": limit,
        "channel": control_channel(prefix),
    }
    with conn.transaction():
        row = conn.execute(_sqlfiles.load("control_queue.sql", prefix), params).fetchone()
    assert row is not None
    return int(row[1])
