"""Bring a database to Oban's v12 schema (plus piiq's additive objects), or back down.

v12 is the default (the seed pins it); Oban's optional v13 (pruning indexes) and v14 (the
``suspended`` state) are there on request: ``migrate_up(conn, version=14)``.

Oban records the schema version as the comment on ``oban_jobs``; so do we, so a database
migrated by Elixir Oban is recognised and left as it is. Each version step runs in its own
transaction; a transaction-level advisory lock keeps two migrating processes apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from . import _sqlfiles

OBAN_VERSION = 12  # what migrate_up brings a database to by default
LATEST_VERSION = 14  # the newest Oban version piiq can migrate to on request
_LOCK_KEY = 0x70696971  # "piiq"


class MigrationError(RuntimeError):
    """The database is in a state piiq cannot migrate safely; the message says why."""


@dataclass(frozen=True, slots=True)
class MigrationReport:
    prefix: str
    before: int
    after: int
    applied: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def current_version(conn: psycopg.Connection[Any], prefix: str = "public") -> int:
    """Oban's schema version of ``prefix``: 0 when there is no ``oban_jobs`` table."""
    row = conn.execute(
        """
        SELECT obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = 'oban_jobs' AND c.relkind IN ('r', 'p')
        """,
        (prefix,),
    ).fetchone()
    if row is None:
        return 0
    comment = (row[0] or "").strip()
    if not comment.isdigit():
        raise MigrationError(
            f"{prefix}.oban_jobs exists but its comment {comment!r} is not an Oban schema "
            "version: this table was not created by Oban or piiq; move it aside or pick "
            "another prefix"
        )
    return int(comment)


PIIQ_RELATIONS = (
    "piiq_oban_jobs_unique_index",
    "piiq_oban_jobs_staging_index",
    "piiq_producers",
    "piiq_queues",
    "piiq_oban_jobs_completed_at_index",
    "piiq_oban_jobs_cancelled_at_index",
    "piiq_oban_jobs_discarded_at_index",
)


def _piiq_objects_present(conn: psycopg.Connection[Any], prefix: str, *, all_: bool = True) -> bool:
    """Whether piiq's additions are all there (``all_``) or any of them is."""
    names = [f'"{prefix}".{name}' for name in PIIQ_RELATIONS]
    row = conn.execute(
        "SELECT bool_and(to_regclass(n) IS NOT NULL), bool_or(to_regclass(n) IS NOT NULL) "
        "FROM unnest(%s::text[]) AS n",
        (names,),
    ).fetchone()
    assert row is not None
    return bool(row[0] if all_ else row[1])


def _tags_type(conn: psycopg.Connection[Any], prefix: str) -> str | None:
    """The type of ``oban_jobs.tags`` as PostgreSQL names it (None before Oban v08)."""
    row = conn.execute(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attname = 'tags' AND NOT a.attisdropped",
        (f'"{prefix}".oban_jobs',),
    ).fetchone()
    return row[0] if row else None


def _run_file(conn: psycopg.Connection[Any], name: str, prefix: str) -> None:
    conn.execute(_sqlfiles.load(name, prefix).encode(), prepare=False)  # several statements


def _set_version(conn: psycopg.Connection[Any], prefix: str, version: int) -> None:
    conn.execute(
        sql.SQL("COMMENT ON TABLE {}.oban_jobs IS {}").format(
            sql.Identifier(prefix), sql.Literal(str(version))
        )
    )


def _locked(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))


def migrate_up(
    conn: psycopg.Connection[Any], prefix: str = "public", version: int = OBAN_VERSION
) -> MigrationReport:
    """Migrate to Oban ``version`` (12, or 13 or 14 on request) and add piiq's objects.
    Idempotent; a database at a higher version is left there.

    Also brings ``tags`` from the ``character varying(255)[]`` of earlier piiq (and Oban)
    releases to Oban's ``text[]`` (once; PostgreSQL rewrites the table for it).

    ``conn`` must be in autocommit mode: every step commits on its own.
    """
    _sqlfiles.check_prefix(prefix)
    if not OBAN_VERSION <= version <= LATEST_VERSION:
        raise MigrationError(
            f"--version {version} is out of range: choose {OBAN_VERSION} (the default) to "
            f"{LATEST_VERSION}"
        )
    target = version
    applied: list[str] = []
    with conn.transaction():
        _locked(conn)
        before = current_version(conn, prefix)
    version = before
    if prefix != "public":
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(prefix)))
    while version < target:
        step = version + 1
        with conn.transaction():
            _locked(conn)
            if current_version(conn, prefix) != version:  # another process moved it
                version = current_version(conn, prefix)
                continue
            _run_file(conn, f"migrations/v{step:02d}_up.sql", prefix)
            _set_version(conn, prefix, step)
        applied.append(f"oban v{step:02d}")
        version = step
    with conn.transaction():
        _locked(conn)
        if version >= 8 and _tags_type(conn, prefix) == "character varying(255)[]":
            _run_file(conn, "upgrade_tags.sql", prefix)
            applied.append("tags text[]")
    with conn.transaction():
        _locked(conn)
        missing = not _piiq_objects_present(conn, prefix)
        # Idempotent, and run every time: a newer piiq's functions and indexes land on
        # upgrade. Reported only when they were missing.
        _run_file(conn, "piiq_up.sql", prefix)
        if missing:
            applied.append("piiq additions")
    return MigrationReport(prefix, before, max(version, before), tuple(applied))


def migrate_down(
    conn: psycopg.Connection[Any], to_version: int, prefix: str = "public"
) -> MigrationReport:
    """Undo Oban versions down to ``to_version`` (0 removes everything)."""
    _sqlfiles.check_prefix(prefix)
    if not 0 <= to_version <= LATEST_VERSION:
        raise MigrationError(
            f"--down-to {to_version} is out of range: choose 0 to {LATEST_VERSION}"
        )
    applied: list[str] = []
    with conn.transaction():
        _locked(conn)
        before = current_version(conn, prefix)
    if before > LATEST_VERSION:
        raise MigrationError(
            f"{prefix}.oban_jobs is at Oban version {before}, newer than piiq knows "
            f"({LATEST_VERSION}); migrate it down with Elixir Oban instead"
        )
    version = before
    # piiq's additions need v12: they go only when the schema goes below it.
    if version > to_version and to_version < OBAN_VERSION:
        with conn.transaction():
            _locked(conn)
            if _piiq_objects_present(conn, prefix, all_=False):
                _run_file(conn, "piiq_down.sql", prefix)
                applied.append("piiq additions removed")
    while version > to_version:
        with conn.transaction():
            _locked(conn)
            _run_file(conn, f"migrations/v{version:02d}_down.sql", prefix)
            if version - 1 > 0:
                _set_version(conn, prefix, version - 1)
        applied.append(f"oban v{version:02d} down")
        version -= 1
    return MigrationReport(prefix, before, version, tuple(applied))
