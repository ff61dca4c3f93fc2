"""``piiq jobs``: the newest jobs as a table or JSON lines; ``piiq jobs show ID``: one job."""

from __future__ import annotations

import json
from typing import Any

import click
import psycopg
from rich.console import Console
from rich.table import Table

from ..queue import get_job, recent_jobs

console = Console()


def list_jobs(
    url: str,
    prefix: str,
    state: str | None,
    queue: str | None,
    worker_name: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest jobs matching the filters, newest first."""
    with psycopg.connect(url) as conn:
        found = recent_jobs(conn, prefix, state=state, queue=queue, worker=worker_name, limit=limit)
    if as_json:
        for job in found:
            click.echo(json.dumps(job_summary(job), default=str))
        return
    table = Table(title=f"newest jobs in {prefix}.oban_jobs")
    for column in (
        "id",
        "state",
        "queue",
        "worker",
        "attempt",
        "inserted",
        "scheduled",
        "last error",
    ):
        table.add_column(column)
    for job in found:
        last_error = job.errors[-1]["error"].splitlines()[-1][:60] if job.errors else ""
        table.add_row(
            str(job.id),
            job.state,
            job.queue,
            job.worker,
            f"{job.attempt}/{job.max_attempts}",
            _time(job.inserted_at),
            _time(job.scheduled_at),
            last_error,
        )
    console.print(table)


def show_job(url: str, prefix: str, job_id: int) -> None:
    """One job: args, meta, errors and timestamps, as JSON."""
    with psycopg.connect(url) as conn:
        job = get_job(conn, job_id, prefix)
    if job is None:
        raise click.ClickException(f"no job with id {job_id} in {prefix}.oban_jobs")
    details = job_summary(job) | {
        "args": job.args,
        "meta": job.meta,
        "tags": job.tags,
        "errors": job.errors,
    }
    console.print_json(json.dumps(details, default=str))


def job_summary(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state,
        "queue": job.queue,
        "worker": job.worker,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "inserted_at": job.inserted_at,
        "scheduled_at": job.scheduled_at,
        "attempted_at": job.attempted_at,
        "completed_at": job.completed_at,
        "discarded_at": job.discarded_at,
        "cancelled_at": job.cancelled_at,
        "attempted_by": job.attempted_by,
    }


def _time(value: Any) -> str:
    return value.strftime("%H:%M:%S.%f")[:-3] if value else ""
