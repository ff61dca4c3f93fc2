"""Dead letters: audit events a sink still refused at the delivery's last attempt.

Kept in ``piiq_audit_dead_letters`` (not only as discarded jobs, which the pruner removes)
until ``piiq audit replay`` queues them again; the table's rows and the replayed jobs
change in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ...queue import Client, load_sql
from .outbox import delivery_job

_PACKAGE = "piiq.slack"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    audit_id: int
    sink: str
    job_id: int
    attempts: int
    error: str
    dead_at: datetime


def create_dead_letter_table(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    conn.execute(load_sql("audit_dead_letters_up.sql", prefix, _PACKAGE))


def record_dead_letter(
    client: Client, *, audit_id: int, sink: str, job_id: int, attempts: int, error: str
) -> None:
    params = {
        "audit_id": audit_id,
        "sink": sink,
        "job_id": job_id,
        "attempts": attempts,
        "error": error,
    }
    with client.connection() as conn:
        conn.execute(load_sql("dead_letter_record.sql", client.prefix, _PACKAGE), params)


def clear_dead_letter(client: Client, *, audit_id: int, sink: str, job_id: int) -> None:
    """The last attempt delivered: drop the dead letter it recorded before its POST."""
    params = {"audit_id": audit_id, "sink": sink, "job_id": job_id}
    with client.connection() as conn:
        conn.execute(load_sql("dead_letter_clear.sql", client.prefix, _PACKAGE), params)


def dead_letters(
    conn: psycopg.Connection[Any], prefix: str, sink: str | None = None
) -> list[DeadLetter]:
    rows = conn.execute(load_sql("dead_letters.sql", prefix, _PACKAGE), {"sink": sink})
    return [DeadLetter(*row) for row in rows.fetchall()]


def replay(
    client: Client,
    max_attempts: int,
    *,
    sink: str | None = None,
    audit_ids: Sequence[int] | None = None,
) -> dict[str, int]:
    """Queue the chosen dead letters again (fresh attempts) and remove them from the table,
    in one transaction. Returns how many per sink."""
    params = {"sink": sink, "ids": list(audit_ids) if audit_ids else None}
    with client.connection() as conn, conn.transaction():
        taken = conn.execute(
            load_sql("dead_letters_take.sql", client.prefix, _PACKAGE), params
        ).fetchall()
        jobs = [delivery_job(audit_id, name, max_attempts) for audit_id, name in sorted(taken)]
        if jobs:
            client.insert_all(jobs, conn=conn)
    counts: dict[str, int] = {}
    for _, name in taken:
        counts[name] = counts.get(name, 0) + 1
    return counts
