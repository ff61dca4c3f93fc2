"""``piiq migrate``: Oban's schema (v12, or 13/14 with --version) plus piiq's additions."""

from __future__ import annotations

import click
import psycopg

from ..queue import OBAN_VERSION, migrate_down, migrate_up
from ..slack.tables import create_slack_tables


def migrate(url: str, prefix: str, down_to: int | None, version: int) -> None:
    """Migrate up to ``version`` (and create the audit table), or down to ``down_to``."""
    if down_to is not None and version != OBAN_VERSION:
        raise click.UsageError("give --version or --down-to, not both")
    with psycopg.connect(url, autocommit=True) as conn:
        if down_to is None:
            report = migrate_up(conn, prefix, version)
            create_slack_tables(conn, prefix)
        else:
            report = migrate_down(conn, down_to, prefix)
    steps = ", ".join(report.applied) if report.applied else "nothing to do"
    click.echo(f"{prefix}: version {report.before} -> {report.after} ({steps})")
