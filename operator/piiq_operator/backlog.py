"""Queue depth from the jobs table, read with the URL from the database Secret.

An unreachable or unmigrated database is normal while a release is being set up, so it
never fails a reconcile: the caller gets ``BacklogUnavailable`` with a message that names
the problem but not the URL (it may hold a password).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from piiq.queue import QueueControl, queue_controls, queue_counts

CONNECT_TIMEOUT = 3


@dataclass(frozen=True)
class QueueDepth:
    available: int  # waiting to run now: the backlog
    executing: int
    paused: bool = False  # `piiq queues pause`: no worker fetches from it
    limit: int | None = None  # `piiq queues scale`: jobs at once per worker, for every pod

    @property
    def demand(self) -> int:
        """Jobs the queue could be running now, what autoscaling sizes for."""
        return self.available + self.executing


class BacklogUnavailable(Exception):
    pass


def read_depths(url: str, prefix: str, queues: list[str]) -> dict[str, QueueDepth]:
    """Depth of each queue in ``queues`` (zero when it has no jobs). Blocking: run in a thread."""
    try:
        with psycopg.connect(
            url,
            connect_timeout=CONNECT_TIMEOUT,
            autocommit=True,
            options="-c statement_timeout=5000",
            application_name="piiq-operator",
        ) as conn:
            counts = queue_counts(conn, prefix)
            controls = _controls(conn, prefix, queues)
    except psycopg.Error as exc:
        kind = (
            "database unreachable" if isinstance(exc, psycopg.OperationalError) else "query failed"
        )
        raise BacklogUnavailable(
            f"{kind} ({type(exc).__name__}, sqlstate {exc.sqlstate or 'none'}): check the "
            f"database Secret's URL, the network policy and that schema {prefix!r} is migrated"
        ) from None
    except Exception as exc:  # e.g. a malformed URL: never echo it
        raise BacklogUnavailable(
            f"cannot connect ({type(exc).__name__}): check the database Secret's URL"
        ) from None
    return {
        queue: QueueDepth(
            available=counts.get(queue, {}).get("available", 0),
            executing=counts.get(queue, {}).get("executing", 0),
            paused=controls.get(queue, QueueControl()).paused,
            limit=controls.get(queue, QueueControl()).local_limit,
        )
        for queue in queues
    }


def _controls(
    conn: psycopg.Connection[Any], prefix: str, queues: list[str]
) -> dict[str, QueueControl]:
    """Pause and scale set with `piiq queues`; none on a schema migrated before they
    existed (the workers run on and say to migrate)."""
    try:
        with conn.transaction():
            return queue_controls(conn, prefix, queues)
    except psycopg.errors.UndefinedTable:
        return {}
