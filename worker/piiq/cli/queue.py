"""The queue's commands: migrate, worker, maintenance, jobs, queues, canary."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..queue import LATEST_VERSION, OBAN_VERSION, STATES, SUSPENDED
from ..runtime.settings import Settings
from .options import DURATION, database_options, group_database, heartbeat_timeout_option


@click.command()
@database_options
@click.option(
    "--down-to",
    type=int,
    default=None,
    help="Undo Oban migrations down to this version (0 removes all).",
)
@click.option(
    "--version",
    type=click.IntRange(OBAN_VERSION, LATEST_VERSION),
    default=OBAN_VERSION,
    show_default=True,
    help="Oban schema version to migrate to: 13 adds Oban 2.20's pruning indexes, 14 also "
    "the suspended state (Oban 2.21).",
)
def migrate(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Bring the database to Oban's schema v12, or --version 13 or 14 (plus piiq's additive
    objects and the Slack tables: the audit trail, the shared rate limits, history scans;
    --down-to leaves them in place)."""
    from ..commands.migrate import migrate

    migrate(url, prefix, **options)


@click.command()
@database_options
@click.option(
    "--queue",
    "queues",
    multiple=True,
    required=True,
    metavar="NAME=N[/G]",
    help="A queue to run, at most N jobs at once in this process and, with /G, at most G "
    "executing over all workers (e.g. events=8/20); repeat for more.",
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    help="Import a module of workers at start.",
)
@click.option(
    "--node", default=None, help="Name in attempted_by [env: PIIQ_NODE; default: host name]"
)
@click.option("--no-notify", is_flag=True, help="Do not LISTEN for inserts; poll only (PgBouncer).")
@click.option(
    "--poll-interval", type=DURATION, default="1s", show_default=True, help="Time between polls."
)
@click.option(
    "--shutdown-grace",
    type=DURATION,
    default="15s",
    show_default=True,
    help="Time running jobs get on SIGTERM.",
)
@click.option(
    "--heartbeat-interval",
    type=DURATION,
    default="1s",
    show_default=True,
    help="How often this worker says it is alive (its jobs are rescued about two "
    "intervals after its database session ends).",
)
@heartbeat_timeout_option
@click.option(
    "--no-fast-rescue",
    is_flag=True,
    help="Do not rescue jobs of workers that stopped heartbeating.",
)
@click.option(
    "--prune-max-age",
    type=DURATION,
    default=None,
    help="Also prune finished jobs older than this (e.g. 7d); off by default.",
)
@click.option(
    "--rescue-after",
    type=DURATION,
    default=None,
    help="Also run the time-based Lifeline (e.g. 30m); off by default.",
)
@click.option(
    "--cron",
    "crontab",
    multiple=True,
    metavar="'EXPR WORKER [OPTIONS]'",
    help="A periodic job (Oban's Cron plugin), e.g. '*/5 * * * * myapp.workers.Report' "
    'or \'@daily myapp.Cleanup {"args": {"days": 7}, "queue": "maintenance"}\'; '
    "repeatable. Each minute's job is inserted once however many workers run the crontab.",
)
def worker(**options: Any) -> None:
    """Run queues: lease jobs, run their workers, record outcomes. Stops cleanly on SIGTERM.

    Every worker heartbeats and, unless --no-fast-rescue, rescues within seconds the jobs
    of workers that stopped heartbeating (a crash, kill -9, a lost node).
    """
    from ..commands.worker import worker

    worker(**options)


@click.command()
@database_options
@click.option(
    "--prune-max-age",
    type=DURATION,
    default="7d",
    show_default=True,
    help="Delete finished jobs older than this.",
)
@click.option(
    "--keep",
    "keep",
    multiple=True,
    metavar="STATE=AGE",
    help="Per-state retention overriding --prune-max-age, e.g. discarded=30d; repeatable.",
)
@click.option(
    "--prune-limit",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Rows per DELETE batch.",
)
@click.option(
    "--rescue-after",
    type=DURATION,
    default="30m",
    show_default=True,
    help="Lifeline: rescue jobs executing longer than this.",
)
@heartbeat_timeout_option
@click.option("--no-fast-rescue", is_flag=True, help="Only the time-based Lifeline.")
@click.option("--once", is_flag=True, help="Run one pass and exit (for a CronJob).")
@click.option(
    "--interval",
    type=DURATION,
    default="60s",
    show_default=True,
    help="Time between passes without --once.",
)
def maintenance(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Prune finished jobs and rescue orphaned ones; prints one JSON summary line per pass."""
    from ..commands.maintenance import maintenance

    sys.exit(maintenance(url, prefix, **options))


@click.group(invoke_without_command=True)
@click.pass_context
@database_options
@click.option("--state", type=click.Choice((*STATES, SUSPENDED)), default=None)
@click.option("--queue", default=None)
@click.option("--worker", "worker_name", default=None)
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job.")
def jobs(ctx: click.Context, url: str, prefix: str, settings: Settings, **filters: Any) -> None:
    """The newest jobs (like SELECT * FROM oban_jobs ORDER BY inserted_at DESC LIMIT 10)."""
    ctx.obj = {"url": url, "prefix": prefix}
    if ctx.invoked_subcommand is None:
        from ..commands.jobs import list_jobs

        list_jobs(url, prefix, **filters)


@jobs.command("show")
@click.argument("job_id", type=int)
@group_database
def jobs_show(url: str, prefix: str, job_id: int) -> None:
    """One job: args, meta, errors and timestamps."""
    from ..commands.jobs import show_job

    show_job(url, prefix, job_id)


@click.group(invoke_without_command=True)
@click.pass_context
@database_options
def queues(ctx: click.Context, url: str, prefix: str, settings: Settings) -> None:
    """Jobs per queue and state, and queues paused or scaled (see pause, resume, scale)."""
    ctx.obj = {"url": url, "prefix": prefix}
    if ctx.invoked_subcommand is None:
        from ..commands.queues import show_queues

        show_queues(url, prefix)


@queues.command("pause")
@click.argument("name")
@group_database
def queues_pause(url: str, prefix: str, name: str) -> None:
    """Stop fetching NAME on every worker; running jobs finish. Kept until resumed."""
    from ..commands.queues import pause

    pause(url, prefix, name)


@queues.command("resume")
@click.argument("name")
@group_database
def queues_resume(url: str, prefix: str, name: str) -> None:
    """Fetch NAME again on every worker."""
    from ..commands.queues import resume

    resume(url, prefix, name)


@queues.command("scale")
@click.argument("name")
@click.argument("limit", metavar="N|default")
@group_database
def queues_scale(url: str, prefix: str, name: str, limit: str) -> None:
    """Run at most N jobs of NAME at once in every worker (a global limit still holds);
    'default' gives each worker its own --queue limit back. Kept for workers that start."""
    from ..commands.queues import scale

    scale(url, prefix, name, limit)


@click.command()
@database_options
@click.option("--queue", default="default", show_default=True, help="Queue to prove is served.")
@click.option(
    "--timeout",
    type=DURATION,
    default="60s",
    show_default=True,
    help="How long to wait for a worker to complete it.",
)
@click.option("--no-wait", is_flag=True, help="Only enqueue it.")
def canary(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Enqueue a no-op job and wait until a worker completes it (exit 1 if none does)."""
    from ..commands.canary import canary

    sys.exit(canary(url, prefix, **options))


COMMANDS = (migrate, worker, maintenance, jobs, queues, canary)
