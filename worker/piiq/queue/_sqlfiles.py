"""Load SQL from the ``sql/`` folder of a package (the queue's own, by default).

Statements name Oban's objects as ``{{prefix}}.oban_jobs``; the placeholder becomes the
quoted schema name, so one set of files serves every prefix (Oban's multi-tenancy).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_PREFIX_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a plain schema name, else raise a ValueError saying why."""
    if not _PREFIX_PATTERN.match(prefix):
        raise ValueError(
            f"invalid queue prefix {prefix!r}: use a PostgreSQL schema name made of letters, "
            "digits and underscores, starting with a letter (for example 'public')"
        )
    return prefix


@cache
def _read(name: str, package: str) -> str:
    return resources.files(package).joinpath("sql", name).read_text(encoding="utf-8")


_INCLUDE = re.compile(r"\{\{include:([\w./]+)\}\}")


@cache
def load(name: str, prefix: str = "public", package: str = "piiq.queue") -> str:
    """The SQL text of ``sql/<name>`` with the schema placeholder filled in.

    ``{{include:other.sql}}`` stands for another file's text (one statement serving in
    two places, e.g. the ack UPDATE alone and inside the fetch).
    """
    quoted = '"' + check_prefix(prefix) + '"'
    text = _INCLUDE.sub(
        lambda m: _read(m.group(1), package).rstrip().rstrip(";"), _read(name, package)
    )
    return text.replace("{{prefix}}", quoted)


def exists(name: str) -> bool:
    return resources.files("piiq.queue").joinpath("sql", name).is_file()
