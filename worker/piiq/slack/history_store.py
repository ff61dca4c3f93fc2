"""What a history scan keeps in PostgreSQL: its channel and window, the pages finished,
and the counts the progress display and ``piiq scan-history --status`` show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..queue import sqlfiles

_PACKAGE = "piiq.slack"


@dataclass(frozen=True, slots=True)
class Scan:
    """One channel over one window [oldest, latest) of Unix seconds."""

    team: str
    channel: str
    oldest: int
    latest: int

    @property
    def id(self) -> str:
        return f"{self.team}:{self.channel}:{self.oldest}-{self.latest}"


@dataclass(frozen=True, slots=True)
class ScanStatus:
    scan: str
    team: str
    channel: str
    oldest: int
    latest: int
    started_at: datetime
    pages: int  # finished
    enqueued: int  # message scan jobs those pages enqueued
    skipped: int  # messages found that had a scan job already (an event, an earlier scan)
    threads: int  # threads found (each read through conversations.replies)
    last_page_at: datetime | None
    pending: int  # page jobs still to run
    failed: int  # page jobs given up (discarded or cancelled)

    @property
    def done(self) -> bool:
        return self.pending == 0


def create_history_tables(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    """Idempotent; ``piiq migrate`` runs it (``create_slack_tables``)."""
    conn.execute(sqlfiles.load("history_up.sql", prefix, _PACKAGE))


def start(conn: psycopg.Connection[Any], prefix: str, scan: Scan, queue: str) -> None:
    params = {
        "scan": scan.id,
        "team": scan.team,
        "channel": scan.channel,
        "oldest": scan.oldest,
        "latest": scan.latest,
        "queue": queue,
    }
    conn.execute(sqlfiles.load("history_start.sql", prefix, _PACKAGE), params)


def page_done(conn: psycopg.Connection[Any], prefix: str, scan: str, page: str) -> bool:
    sql = sqlfiles.load("history_page_done.sql", prefix, _PACKAGE)
    return conn.execute(sql, {"scan": scan, "page": page}).fetchone() is not None


def record_page(
    conn: psycopg.Connection[Any],
    prefix: str,
    scan: str,
    page: str,
    *,
    enqueued: int,
    skipped: int,
    threads: int,
) -> None:
    params = {
        "scan": scan,
        "page": page,
        "enqueued": enqueued,
        "skipped": skipped,
        "threads": threads,
    }
    conn.execute(sqlfiles.load("history_record_page.sql", prefix, _PACKAGE), params)


def already_scanned(
    conn: psycopg.Connection[Any], prefix: str, worker: str, channel: str, ts: list[str]
) -> set[str]:
    """The ts of those messages that have a scan job already, in any state."""
    if not ts:
        return set()
    params = {"worker": worker, "channel": Jsonb({"channel": channel}), "ts": ts}
    rows = conn.execute(sqlfiles.load("history_scanned.sql", prefix, _PACKAGE), params)
    return {row[0] for row in rows.fetchall()}


def statuses(
    conn: psycopg.Connection[Any],
    prefix: str,
    page_worker: str,
    scans: list[str] | None = None,
    limit: int = 50,
) -> list[ScanStatus]:
    """The newest scans (or those named), each with its progress."""
    params = {"worker": page_worker, "scans": scans, "limit": limit}
    rows = conn.execute(sqlfiles.load("history_status.sql", prefix, _PACKAGE), params)
    return [ScanStatus(*row) for row in rows.fetchall()]
