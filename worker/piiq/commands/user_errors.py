"""One line a person can act on, for the mistakes people make first: a bad setting, a
database URL that is not one, a database that was never migrated, a schema that does not
exist, a server that does not answer. Every ``piiq`` command goes through here, so each
mistake reads the same wherever it happens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from pydantic import ValidationError

URL_FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
URL_SCHEMES = ("postgresql://", "postgres://")


class UserError(Exception):
    """A mistake of the user's, with its one-line message."""


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable URL>"
    host = info.get("host", "localhost")
    port = info.get("port", "5432")
    return f"{info.get('user', '')}@{host}:{port}/{info.get('dbname', '')}"


def check_database_url(url: str, source: str = "PIIQ_DATABASE_URL") -> str:
    """The URL, or a ``UserError`` naming ``source`` and the expected form.

    libpq also takes ``key=value`` strings; anything with a ``scheme://`` must be a
    PostgreSQL one (``mysql://...`` would otherwise fail as ``missing "="``)."""
    scheme, sep, _ = url.partition("://")
    if sep and f"{scheme.lower()}://" not in URL_SCHEMES:
        raise UserError(f"{source} is a {scheme}:// URL; piiq needs PostgreSQL: {URL_FORM}")
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise UserError(f"{source} is not a PostgreSQL URL; expected {URL_FORM}") from None
    return url


@contextlib.contextmanager
def database_errors(url: str, prefix: str) -> Iterator[None]:
    """Any database error inside as ``database_error``'s one line (a ``UserError``)."""
    try:
        yield
    except psycopg.Error as exc:
        raise database_error(exc, url, prefix) from None


def database_error(exc: psycopg.Error, url: str, prefix: str) -> UserError:
    """What went wrong with the database, in one line, with the fix."""
    where = redact_url(url)
    if isinstance(exc, pg_errors.InvalidSchemaName) or (
        isinstance(exc, pg_errors.UndefinedTable) and _schema_missing(url, prefix)
    ):
        return UserError(
            f"the schema {prefix!r} does not exist in {where}: check --prefix / "
            f"PIIQ_QUEUE_PREFIX, or create it with `piiq migrate --prefix {prefix}`"
        )
    if isinstance(exc, pg_errors.UndefinedTable):
        return UserError(
            f"the queue's tables are missing in {where} (schema {prefix!r}): run "
            f"`piiq migrate --prefix {prefix}` first"
        )
    if isinstance(exc, psycopg.OperationalError):
        return UserError(
            f"cannot reach the database {where}: {_first_line(exc)}; check "
            "PIIQ_DATABASE_URL and that PostgreSQL is running"
        )
    return UserError(f"the database {where} refused the query: {_first_line(exc)}")


def _schema_missing(url: str, schema: str) -> bool:
    """Whether ``schema`` is absent (a missing table's most confusing cause: a typo in
    --prefix); False when that cannot be told."""
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
            return found.fetchone() is None
    except psycopg.Error:
        return False


def settings_error(exc: ValidationError, prefix: str = "PIIQ_") -> UserError:
    """A ``Settings`` validation error as the environment variable and what it accepts."""
    problems = [_setting_problem(error, prefix) for error in exc.errors()]
    return UserError("; ".join(problems))


def _setting_problem(error: Any, prefix: str) -> str:
    field = ".".join(str(part) for part in error.get("loc", ())) or "?"
    variable = f"{prefix}{field.split('.')[0].upper()}"
    value = error.get("input")
    secret = any(word in field for word in _SECRET_WORDS)
    shown = f"={value!r}" if not secret and isinstance(value, str | int | float | bool) else ""
    expected = (error.get("ctx") or {}).get("expected")
    if expected:
        return f"{variable}{shown} is not allowed: use {expected}"
    return f"{variable}{shown} is not valid: {error.get('msg', 'invalid value')}"


_SECRET_WORDS = ("token", "secret", "url", "key", "password")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
