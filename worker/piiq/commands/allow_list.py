"""``piiq allow-list list | remove``: what admins ruled "not personal data", by keyed hash.

Shows each entry's hash prefix, type, who added it, when and from which review item, never
a value (piiq never had one to show: only the keyed hash is stored).
"""

from __future__ import annotations

import dataclasses
import json

import click
import psycopg
from rich.console import Console
from rich.table import Table

from ..slack import review_store
from .user_errors import UserError

HASH_SHOWN = 16  # "kid:" and enough hex to tell entries apart


def hash_prefix(value_hash: str) -> str:
    return value_hash[:HASH_SHOWN] + ("…" if len(value_hash) > HASH_SHOWN else "")


def show(url: str, prefix: str, team: str | None, as_json: bool) -> None:
    with psycopg.connect(url) as conn:
        entries = review_store.allow_entries(conn, prefix, team)
    if as_json:
        for entry in entries:
            row = dataclasses.asdict(entry) | {"value_hash": hash_prefix(entry.value_hash)}
            click.echo(json.dumps(row, default=str))
        return
    where = f"workspace {team}" if team else "all workspaces"
    table = Table(title=f"allow-list of {where} in {prefix} ({len(entries)})")
    for column in ("id", "workspace", "value hash", "type", "added by", "added (UTC)", "item"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            str(entry.id),
            entry.team,
            hash_prefix(entry.value_hash),
            entry.entity_type,
            entry.added_by,
            entry.added_at.strftime("%Y-%m-%d %H:%M:%S"),
            "" if entry.item_id is None else str(entry.item_id),
        )
    Console().print(table)
    if not entries:
        click.echo("No entries: admins add them with Mark false positive (docs/slack.md).")


def remove(url: str, prefix: str, entry_id: int) -> None:
    with psycopg.connect(url) as conn:
        entry = review_store.disallow(conn, prefix, entry_id)
    if entry is None:
        raise UserError(
            f"no allow-list entry {entry_id} in {prefix}: `piiq allow-list list` shows the ids"
        )
    click.echo(
        f"removed allow-list entry {entry.id} ({entry.entity_type} {hash_prefix(entry.value_hash)}"
        f" in workspace {entry.team}): that value is flagged again from the next scan"
    )
