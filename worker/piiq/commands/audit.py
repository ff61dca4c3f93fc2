"""``piiq audit export | dead-letters | replay``: the audit trail out of the database, and
the events a SIEM sink refused until the last attempt."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TextIO

import click
from rich.console import Console
from rich.table import Table

from ..queue import Client
from ..runtime.settings import Settings
from ..slack.siem import deadletters, export
from ..slack.siem.events import utc_iso
from .user_errors import UserError


def export_rows(url: str, prefix: str, since_s: float, fmt: str, output: str | None) -> None:
    """Rows written in the last ``since_s`` seconds to ``output`` (stdout when None)."""
    import psycopg

    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=since_s)
    with _opened(output) as out, psycopg.connect(url) as conn:
        count = export.write(export.rows_since(conn, prefix, since), out, fmt)
    if output:
        click.echo(f"wrote {count} audit rows since {utc_iso(since)} to {output}", err=True)


@contextlib.contextmanager
def _opened(output: str | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    try:
        # newline="" as the csv module asks; JSON lines end in \n either way
        out = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UserError(
            f"cannot write --output {output!r}: {exc.strerror}; choose a writable path"
        ) from None
    with out:
        yield out


def show_dead_letters(url: str, prefix: str, sink: str | None, as_json: bool) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        letters = deadletters.dead_letters(conn, prefix, sink)
    if as_json:
        for letter in letters:
            click.echo(json.dumps(dataclasses.asdict(letter), default=str))
        return
    table = Table(title=f"audit dead letters in {prefix} ({len(letters)})")
    for column in ("audit id", "sink", "job", "attempts", "dead at (UTC)", "last error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.audit_id),
            letter.sink,
            str(letter.job_id),
            str(letter.attempts),
            letter.dead_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.error,
        )
    Console().print(table)
    if letters:
        click.echo("`piiq audit replay` queues them again.")


def replay(
    url: str, prefix: str, settings: Settings, sink: str | None, ids: tuple[int, ...]
) -> None:
    with Client(url, prefix=prefix, notify=settings.notify) as client:
        counts = deadletters.replay(
            client, settings.audit_delivery_max_attempts, sink=sink, audit_ids=ids or None
        )
    total = sum(counts.values())
    per_sink = ", ".join(f"{name}: {n}" for name, n in sorted(counts.items()))
    click.echo(f"queued {total} audit deliveries again" + (f" ({per_sink})" if total else ""))
