"""The ``piiq`` command: migrate, worker, maintenance, jobs, queues, demo."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from . import logs
from .maintenance_cli import run_maintenance
from .queue import (
    LATEST_VERSION,
    OBAN_VERSION,
    Client,
    ConfigError,
    MaintenanceOptions,
    MigrationError,
    Runner,
    RunnerOptions,
    migrate_down,
    migrate_up,
)
from .queue import inspect as queue_inspect
from .queue.control import (
    QueueControl,
    pause_queue,
    queue_controls,
    resume_queue,
    scale_queue,
)
from .queue.durations import parse_duration
from .queue.job import STATES, SUSPENDED
from .settings import Settings
from .user_errors import URL_FORM, UserError, check_database_url, database_error, settings_error

F = TypeVar("F", bound=Callable[..., Any])
console = Console()


class Duration(click.ParamType):
    """7d, 30m, 90s, 1.5h or plain seconds; a bad value is named in the error."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()

# Shared by `worker` (fast rescue in-process) and `maintenance` (the CronJob's pass).
heartbeat_timeout_option = click.option(
    "--heartbeat-timeout",
    type=DURATION,
    default="30s",
    show_default=True,
    help="Rescue jobs of workers silent for longer than this.",
)


def database_options(func: F) -> F:
    """--database-url and --prefix, defaulting to PIIQ_DATABASE_URL / PIIQ_QUEUE_PREFIX."""

    @click.option("--database-url", help="PostgreSQL URL [env: PIIQ_DATABASE_URL]")
    @click.option(
        "--prefix", help="Schema holding oban_jobs [env: PIIQ_QUEUE_PREFIX; default public]"
    )
    @functools.wraps(func)
    def wrapper(*args: Any, database_url: str | None, prefix: str | None, **kwargs: Any) -> Any:
        settings = Settings()
        url = database_url or settings.database_url
        if not url:
            raise click.UsageError(
                "no database given: set PIIQ_DATABASE_URL or pass --database-url "
                f"({URL_FORM}, e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
            )
        check_database_url(url, "--database-url" if database_url else "PIIQ_DATABASE_URL")
        prefix = prefix or settings.queue_prefix
        try:
            return func(*args, url=url, prefix=prefix, settings=settings, **kwargs)
        except psycopg.Error as exc:
            raise database_error(exc, url, prefix) from None
        except (ConfigError, MigrationError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class PiiqGroup(click.Group):
    """Imports heavy commands only when they run (`piiq operator` needs kopf: 0.3 s)."""

    lazy = {"operator": ("piiq_operator.cli", "operator_command")}

    def invoke(self, ctx: click.Context) -> Any:
        """Every command's first mistakes (a bad setting, a database that is not ready) as
        one line and exit status 1, never a traceback."""
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            raise click.ClickException(str(settings_error(exc))) from None
        except UserError as exc:
            raise click.ClickException(str(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name]
            return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]
        return super().get_command(ctx, name)


@click.group(cls=PiiqGroup)
@click.version_option(package_name="piiq")
def main() -> None:
    """piiq keeps personal data out of Slack, on an Oban-compatible PostgreSQL job queue."""
    # In a container piiq is PID 1, which ignores signals it has no handler for: without
    # this, SIGTERM before a command installs its own (a worker still waiting for the
    # database) would be ignored until the kubelet's SIGKILL.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@main.command()
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
def migrate(url: str, prefix: str, settings: Settings, down_to: int | None, version: int) -> None:
    """Bring the database to Oban's schema v12, or --version 13 or 14 (plus piiq's additive
    objects and the Slack tables: the audit trail, the shared rate limits; --down-to leaves
    them in place)."""
    from .slack.tables import create_slack_tables

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


@main.command()
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
def worker(
    url: str,
    prefix: str,
    settings: Settings,
    queues: tuple[str, ...],
    imports: tuple[str, ...],
    node: str | None,
    no_notify: bool,
    poll_interval: float,
    shutdown_grace: float,
    heartbeat_interval: float,
    heartbeat_timeout: float,
    no_fast_rescue: bool,
    prune_max_age: float | None,
    rescue_after: float | None,
    crontab: tuple[str, ...],
) -> None:
    """Run queues: lease jobs, run their workers, record outcomes. Stops cleanly on SIGTERM.

    Every worker heartbeats and, unless --no-fast-rescue, rescues within seconds the jobs
    of workers that stopped heartbeating (a crash, kill -9, a lost node).
    """
    logs.configure(settings.log_level, settings.log_format)
    import_worker_modules(imports)
    client = Client(url, prefix=prefix, notify=settings.notify and not no_notify)
    maintenance = MaintenanceOptions(
        prune_max_age=prune_max_age,
        rescue_after=rescue_after,
        fast_rescue=not no_fast_rescue,
        heartbeat_timeout=heartbeat_timeout,
    )
    options = RunnerOptions(
        poll_interval=poll_interval,
        shutdown_grace=shutdown_grace,
        heartbeat_interval=heartbeat_interval,
        maintenance=maintenance,
        rescue_interval=min(1.0, heartbeat_timeout / 3),
        crontab=crontab,
    )
    if crontab and prune_max_age is not None and prune_max_age < 60:
        raise click.UsageError(
            f"--prune-max-age {prune_max_age:g}s with --cron: keep finished jobs at least a "
            "minute, or a worker starting later in the same minute would insert its job again"
        )
    runner = Runner(client, list(queues), node=node or settings.node, options=options)
    from .slack.preflight import SlackSetupError, check_worker

    try:  # after the Runner has checked the --queue specs
        check_worker(settings, queues)
    except SlackSetupError as exc:
        raise click.ClickException(str(exc)) from None
    from .probes import ProbesUnavailable
    from .worker_process import run_worker

    try:
        asyncio.run(run_worker(runner, settings.metrics_port))
    except ProbesUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
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
def maintenance(
    url: str,
    prefix: str,
    settings: Settings,
    prune_max_age: float,
    keep: tuple[str, ...],
    prune_limit: int,
    rescue_after: float,
    heartbeat_timeout: float,
    no_fast_rescue: bool,
    once: bool,
    interval: float,
) -> None:
    """Prune finished jobs and rescue orphaned ones; prints one JSON summary line per pass."""
    options = MaintenanceOptions(
        prune_max_age=prune_max_age,
        prune_max_age_by_state=parse_keep(keep),
        prune_limit=prune_limit,
        rescue_after=rescue_after,
        fast_rescue=not no_fast_rescue,
        heartbeat_timeout=heartbeat_timeout,
    )
    sys.exit(run_maintenance(url, prefix, options, once=once, interval=interval))


def import_worker_modules(modules: tuple[str, ...]) -> None:
    """Import the application's workers as ``python -m`` would find them: the working
    directory first on the path, so ``piiq worker --import myapp`` works from the app's
    directory without PYTHONPATH."""
    if modules and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise click.BadParameter(
                f"cannot import {module!r}: {exc}; run from the directory that holds it or "
                "add that directory to PYTHONPATH",
                param_hint="--import",
            ) from None


def parse_keep(specs: tuple[str, ...]) -> dict[str, float]:
    ages: dict[str, float] = {}
    for spec in specs:
        state, sep, age = spec.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{spec!r} must look like STATE=AGE, e.g. discarded=30d", param_hint="--keep"
            )
        try:
            ages[state.strip()] = parse_duration(age)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--keep") from None
    return ages


@main.group(invoke_without_command=True)
@click.pass_context
@database_options
@click.option("--state", type=click.Choice((*STATES, SUSPENDED)), default=None)
@click.option("--queue", default=None)
@click.option("--worker", "worker_name", default=None)
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job.")
def jobs(
    ctx: click.Context,
    url: str,
    prefix: str,
    settings: Settings,
    state: str | None,
    queue: str | None,
    worker_name: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest jobs (like SELECT * FROM oban_jobs ORDER BY inserted_at DESC LIMIT 10)."""
    ctx.obj = {"url": url, "prefix": prefix}
    if ctx.invoked_subcommand is not None:
        return
    with psycopg.connect(url) as conn:
        found = queue_inspect.recent_jobs(
            conn, prefix, state=state, queue=queue, worker=worker_name, limit=limit
        )
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


@jobs.command("show")
@click.argument("job_id", type=int)
@click.pass_context
def jobs_show(ctx: click.Context, job_id: int) -> None:
    """One job: args, meta, errors and timestamps."""
    url, prefix = ctx.obj["url"], ctx.obj["prefix"]
    try:
        with psycopg.connect(url) as conn:
            job = queue_inspect.get_job(conn, job_id, prefix)
    except psycopg.Error as exc:
        raise database_error(exc, url, prefix) from None
    if job is None:
        raise click.ClickException(f"no job with id {job_id} in {prefix}.oban_jobs")
    details = job_summary(job) | {
        "args": job.args,
        "meta": job.meta,
        "tags": job.tags,
        "errors": job.errors,
    }
    console.print_json(json.dumps(details, default=str))


@main.group(invoke_without_command=True)
@click.pass_context
@database_options
def queues(ctx: click.Context, url: str, prefix: str, settings: Settings) -> None:
    """Jobs per queue and state, and queues paused or scaled (see pause, resume, scale)."""
    ctx.obj = {"url": url, "prefix": prefix}
    if ctx.invoked_subcommand is not None:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        counts = queue_inspect.queue_counts(conn, prefix)
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


def _control_queue(ctx: click.Context, name: str, change: Callable[..., int], done: str) -> None:
    """Apply a pause/resume/scale and say how many running workers it reached."""
    url, prefix = ctx.obj["url"], ctx.obj["prefix"]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            workers = change(conn, name, prefix=prefix)
    except psycopg.errors.UndefinedTable:
        raise click.ClickException(
            f"{prefix}.piiq_queues does not exist: run `piiq migrate` (this piiq's additions)"
        ) from None
    except psycopg.Error as exc:
        raise database_error(exc, url, prefix) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    reached = (
        f"{workers} running worker{'s' if workers != 1 else ''} serve it"
        if workers
        else "no running worker serves it now; workers that start will honour it"
    )
    click.echo(f"{name}: {done} ({reached})")


@queues.command("pause")
@click.argument("name")
@click.pass_context
def queues_pause(ctx: click.Context, name: str) -> None:
    """Stop fetching NAME on every worker; running jobs finish. Kept until resumed."""
    _control_queue(ctx, name, pause_queue, "paused")


@queues.command("resume")
@click.argument("name")
@click.pass_context
def queues_resume(ctx: click.Context, name: str) -> None:
    """Fetch NAME again on every worker."""
    _control_queue(ctx, name, resume_queue, "resumed")


@queues.command("scale")
@click.argument("name")
@click.argument("limit", metavar="N|default")
@click.pass_context
def queues_scale(ctx: click.Context, name: str, limit: str) -> None:
    """Run at most N jobs of NAME at once in every worker (a global limit still holds);
    'default' gives each worker its own --queue limit back. Kept for workers that start."""
    if limit == "default":
        value = None
    elif limit.isdigit() and int(limit) >= 1:
        value = int(limit)
    else:
        raise click.BadParameter(
            f"{limit!r} must be a whole number of 1 or more, or 'default'", param_hint="N"
        )
    done = f"limit {value} per worker" if value else "each worker's own limit"
    _control_queue(ctx, name, functools.partial(scale_queue, limit=value), done)


@main.command()
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
def canary(
    url: str, prefix: str, settings: Settings, queue: str, timeout: float, no_wait: bool
) -> None:
    """Enqueue a no-op job and wait until a worker completes it (exit 1 if none does)."""
    from .canary import send_canary

    with Client(url, prefix=prefix) as client:
        ok, message = send_canary(client, queue, None if no_wait else timeout)
    click.echo(message)
    sys.exit(0 if ok else 1)


def _scan_command_class() -> type[click.Command]:
    from .scan_cli import ScanCommand

    return ScanCommand


def _scan_help() -> str:
    from .scan_cli import EXIT_STATUSES

    return "Find personal data in TEXT or --file and show the policy's decision.\n\n" + (
        EXIT_STATUSES.replace("\n", " ")
    )


@main.command(cls=_scan_command_class(), help=_scan_help())
@click.argument("text", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Scan a file (PDF, Office, OpenDocument, RTF, CSV, JSON, text, image, zip).",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Detection policy YAML [default: PIIQ_POLICY_FILE, else the built-in one].",
)
@click.option(
    "--recognizers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Custom recognizers YAML [default: PIIQ_RECOGNIZERS_FILE].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object: decision, findings, file outcome."
)
@click.option("--show-values", is_flag=True, help="Print the matched values (hidden by default).")
def scan(
    text: str | None,
    file: Path | None,
    policy: Path | None,
    recognizers: Path | None,
    as_json: bool,
    show_values: bool,
) -> None:
    from .scan_cli import scan_command

    sys.exit(scan_command(text, file, as_json, show_values, policy, recognizers))


@main.command()
@database_options
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port [env: PIIQ_INGRESS_PORT; default 3000]")
@click.option(
    "--socket-mode",
    is_flag=True,
    help="Receive events over Socket Mode (needs PIIQ_SLACK_APP_TOKEN), for workspaces "
    "without a public endpoint.",
)
def ingress(
    url: str, prefix: str, settings: Settings, host: str, port: int | None, socket_mode: bool
) -> None:
    """Receive Slack events and enqueue one job per message.

    Serves the Events API at /slack/events (PIIQ_SLACK_SIGNING_SECRET verifies requests),
    or with --socket-mode connects to Slack over a WebSocket instead; /healthz and /readyz
    answer either way.
    """
    from .argscrypt import ArgsKeyError, ArgsKeys
    from .probes import ProbesUnavailable
    from .slack.ingress import run_ingress

    logs.configure(settings.log_level, settings.log_format)
    try:
        args_keys = ArgsKeys.from_setting(settings.args_keys)
    except ArgsKeyError as exc:
        raise click.ClickException(str(exc)) from None
    secret, app_token = settings.slack_signing_secret, settings.slack_app_token
    if socket_mode and app_token is None:
        raise click.UsageError(
            "--socket-mode needs PIIQ_SLACK_APP_TOKEN: an app-level token (xapp-) with "
            "connections:write, from your Slack app's Basic Information page"
        )
    if not socket_mode and secret is None:
        raise click.UsageError(
            "the Events API needs PIIQ_SLACK_SIGNING_SECRET (Basic Information -> Signing "
            "Secret in your Slack app); or use --socket-mode with PIIQ_SLACK_APP_TOKEN"
        )
    serving = run_ingress(
        url,
        prefix,
        signing_secret=secret.get_secret_value() if secret and not socket_mode else None,
        app_token=app_token.get_secret_value() if app_token and socket_mode else None,
        api_url=settings.slack_api_url,
        exempt_channels=settings.exempt_channels,
        host=host,
        port=port if port is not None else settings.ingress_port,
        max_body=settings.max_event_bytes,
        metrics_port=settings.metrics_port,
        args_keys=args_keys,
    )
    try:
        asyncio.run(serving)
    except ProbesUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def keys() -> None:
    """Keys that encrypt message text in job args (PIIQ_ARGS_KEYS)."""


@keys.command("generate")
@click.option("--id", "key_id", default=None, help="Key id [default: k<date>-<random>].")
def keys_generate(key_id: str | None) -> None:
    """Print a new KEY_ID:BASE64 entry (a random AES-256 key) for PIIQ_ARGS_KEYS.

    Put it first in PIIQ_ARGS_KEYS to encrypt with it; keep older entries after it while
    jobs they sealed may still run. The same list goes to the ingress and the workers.
    """
    from .argscrypt import ArgsKeyError, generate

    try:
        click.echo(generate(key_id))
    except ArgsKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--id") from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
def sandbox(host: str, port: int) -> None:
    """Run the local Slack sandbox (Web API, files, Socket Mode) for trying piiq out.

    Point piiq at it with PIIQ_SLACK_API_URL=http://HOST:PORT/api/ and its fixed tokens
    (printed at start).
    """
    from .slack import sandbox as sb

    slack = sb.SlackSandbox(host, port)
    click.echo(
        f"Slack sandbox on {slack.base_url}: bot token {sb.BOT_TOKEN}, admin token "
        f"{sb.ADMIN_TOKEN}, app token {sb.APP_TOKEN}, signing secret {sb.SIGNING_SECRET}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(slack.serve_forever())


@main.command()
def demo() -> None:
    """Slack messages with PII deleted and DMed, end to end, on a local Slack sandbox."""
    from .demo import run_demo

    sys.exit(run_demo(console))


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
