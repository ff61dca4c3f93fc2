"""What admins keep: the audit trail, the allow-list, the keys of job args."""

from __future__ import annotations

import click

from ..runtime.settings import Settings
from .options import DURATION, database_options


@click.group()
def audit() -> None:
    """The audit trail: export it, and the SIEM deliveries that ended as dead letters."""


@audit.command("export")
@database_options
@click.option("--since", type=DURATION, default="7d", show_default=True, help="e.g. 24h, 7d, 4w.")
@click.option(
    "--format", "fmt", type=click.Choice(("jsonl", "csv")), default="jsonl", show_default=True
)
@click.option("--output", default=None, help="File to write (default: stdout).")
def audit_export(
    url: str, prefix: str, settings: Settings, since: float, fmt: str, output: str | None
) -> None:
    """Audit rows written since --since, oldest first: no message text, no values."""
    from ..commands.audit import export_rows

    export_rows(url, prefix, since, fmt, output)


@audit.command("dead-letters")
@database_options
@click.option("--sink", type=click.Choice(("webhook", "splunk")), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def audit_dead_letters(
    url: str, prefix: str, settings: Settings, sink: str | None, as_json: bool
) -> None:
    """Audit events a SIEM sink still refused at the last attempt."""
    from ..commands.audit import show_dead_letters

    show_dead_letters(url, prefix, sink, as_json)


@audit.command("replay")
@database_options
@click.option("--sink", type=click.Choice(("webhook", "splunk")), default=None)
@click.option(
    "--id", "ids", type=int, multiple=True, help="Audit row id (repeatable; default all)."
)
def audit_replay(
    url: str, prefix: str, settings: Settings, sink: str | None, ids: tuple[int, ...]
) -> None:
    """Queue dead letters for delivery again, with fresh attempts."""
    from ..commands.audit import replay

    replay(url, prefix, settings, sink, ids)


@click.group("allow-list")
def allow_list() -> None:
    """Values admins ruled "not personal data" (Mark false positive), by keyed hash."""


@allow_list.command("list")
@database_options
@click.option("--team", default=None, help="Only this workspace (team id, e.g. T0123).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
def allow_list_list(
    url: str, prefix: str, settings: Settings, team: str | None, as_json: bool
) -> None:
    """Each entry's id, workspace, hash prefix, type, who added it, when and from which
    review item; never a value."""
    from ..commands.allow_list import show

    show(url, prefix, team, as_json)


@allow_list.command("remove")
@click.argument("entry_id", metavar="ID", type=click.IntRange(min=1))
@database_options
def allow_list_remove(url: str, prefix: str, settings: Settings, entry_id: int) -> None:
    """Remove entry ID (from `piiq allow-list list`): its value is flagged again."""
    from ..commands.allow_list import remove

    remove(url, prefix, entry_id)


@click.group()
def keys() -> None:
    """Keys that encrypt message text in job args (PIIQ_ARGS_KEYS)."""


@keys.command("generate")
@click.option("--id", "key_id", default=None, help="Key id [default: k<date>-<random>].")
def keys_generate(key_id: str | None) -> None:
    """Print a new KEY_ID:BASE64 entry (a random AES-256 key) for PIIQ_ARGS_KEYS.

    Put it first in PIIQ_ARGS_KEYS to encrypt with it; keep older entries after it while
    jobs they sealed may still run. The same list goes to the ingress and the workers.
    """
    from ..commands.keys import generate_key

    generate_key(key_id)


COMMANDS = (audit, allow_list, keys)
