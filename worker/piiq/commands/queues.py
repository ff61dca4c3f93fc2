"""``piiq queues``: jobs per queue and state, and the queues paused or scaled; ``pause``,
``resume`` and ``scale`` change that for every worker at once."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click
import psycopg
from rich.console import Console
from rich.table import Table

from ..queue import (
    STATES,
    SUSPENDED,
    QueueControl,
    pause_queue,
    queue_controls,
    queue_counts,
    resume_queue,
    scale_queue,
)

console = Console()


def show_queues(url: str, prefix: str) -> None:
    """The table of queues by state, with each queue's pause and limit."""
    with psycopg.connect(url, autocommit=True) as conn:
        counts = queue_counts(conn, prefix)
        try:
            controls = queue_controls(conn, prefix)
        except psycopg.errors.UndefinedTable:  # migrated by a piiq before runtime control
            controls = {}
    # suspended (Oban v14) only where there are such jobs
    states = [*STATES, *([SUSPENDED] if any(SUSPENDED in c for c in counts.values()) else [])]
    table = Table(title=f"queues in {prefix}.oban_jobs")
    table.add_column("queue")
    for state in states:
        table.add_column(state, justify="right")
    table.add_column("paused")
    table.add_column("limit", justify="right")
    for name in sorted(counts.keys() | controls.keys()):
        by_state = counts.get(name, {})
        control = controls.get(name, QueueControl())
        table.add_row(
            name,
            *(str(by_state.get(s, 0)) for s in states),
            "yes" if control.paused else "no",
            str(control.local_limit or "-"),
        )
    console.print(table)
    if controls:
        click.echo("limit: per worker, set by `piiq queues scale` (-: each worker's --queue limit)")


def pause(url: str, prefix: str, name: str) -> None:
    _control_queue(url, prefix, name, pause_queue, "paused")


def resume(url: str, prefix: str, name: str) -> None:
    _control_queue(url, prefix, name, resume_queue, "resumed")


def scale(url: str, prefix: str, name: str, limit: str) -> None:
    """``limit``: a whole number of 1 or more, or 'default' (each worker's --queue limit)."""
    if limit == "default":
        value = None
    elif limit.isdigit() and int(limit) >= 1:
        value = int(limit)
    else:
        raise click.BadParameter(
            f"{limit!r} must be a whole number of 1 or more, or 'default'", param_hint="N"
        )
    done = f"limit {value} per worker" if value else "each worker's own limit"
    _control_queue(url, prefix, name, functools.partial(scale_queue, limit=value), done)


def _control_queue(url: str, prefix: str, name: str, change: Callable[..., int], done: str) -> None:
    """Apply a pause/resume/scale and say how many running workers it reached."""
    with psycopg.connect(url, autocommit=True) as conn:
        workers = change(conn, name, prefix=prefix)
    reached = (
        f"{workers} running worker{'s' if workers != 1 else ''} serve it"
        if workers
        else "no running worker serves it now; workers that start will honour it"
    )
    click.echo(f"{name}: {done} ({reached})")
