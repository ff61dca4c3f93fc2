"""The audit trail: one row per decision acted on, without text or values."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..queue import load_sql

_PACKAGE = "piiq.slack"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    job_id: int
    team: str
    channel: str
    ts: str
    user_id: str
    subject: str  # "message" or "file F123"
    decision: str  # delete | warn | not_scanned | partly_scanned (a file not fully read)
    entities: dict[str, int]  # type -> count
    action: str  # deleted | notified | reported (dry run)
    outcome: str  # what happened, step by step, e.g. "deleted; author notified"

    def params(self) -> dict[str, Any]:
        return {**asdict(self), "entities": Jsonb(self.entities)}


def create_audit_table(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    """Idempotent; ``piiq migrate`` runs it after the queue's migrations."""
    conn.execute(load_sql("audit_up.sql", prefix, _PACKAGE))


def record(
    conn: psycopg.Connection[Any],
    entry: AuditEntry,
    prefix: str = "public",
    *,
    replace: bool = True,
) -> Written | None:
    """Insert ``entry``, or update the row this job wrote for this subject before (a retry
    that got further); with ``replace`` false, leave such a row as it is. Returns the row's
    id and time when it was written, None when it was left as it was."""
    params = {**entry.params(), "replace": replace}
    row = conn.execute(load_sql("record_audit.sql", prefix, _PACKAGE), params).fetchone()
    return Written(row[0], row[1]) if row else None


@dataclass(frozen=True, slots=True)
class Written:
    """A row as written: its id, and its ``recorded_at`` (a rewrite changes it)."""

    id: int
    recorded_at: datetime


def recent(
    conn: psycopg.Connection[Any], prefix: str = "public", limit: int = 50
) -> list[dict[str, Any]]:
    """The newest audit rows, newest first, as dicts."""
    cur = conn.execute(load_sql("recent_audit.sql", prefix, _PACKAGE), {"limit": limit})
    columns = [c.name for c in cur.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
