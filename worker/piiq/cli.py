"""The ``piiq`` command: click's options and help for each subcommand, and one call into
``piiq.commands``, which does the work (imported when the subcommand runs)."""

from __future__ import annotations

import contextlib
import functools
import importlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from pydantic import ValidationError

from .commands.scan import EXIT_STATUSES, ScanCommand
from .commands.user_errors import (
    URL_FORM,
    UserError,
    check_database_url,
    database_errors,
    settings_error,
)
from .queue import (
    LATEST_VERSION,
    OBAN_VERSION,
    STATES,
    SUSPENDED,
    ConfigError,
    MigrationError,
    parse_duration,
)
from .runtime.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


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
        with _one_line_errors(url, prefix):
            return func(*args, url=url, prefix=prefix, settings=settings, **kwargs)

    return cast(F, wrapper)


def group_database(func: F) -> F:
    """A subcommand of ``jobs`` or ``queues``: the group's database and prefix, and the
    same one-line errors."""

    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        url, prefix = ctx.obj["url"], ctx.obj["prefix"]
        with _one_line_errors(url, prefix):
            return func(*args, url=url, prefix=prefix, **kwargs)

    return cast(F, wrapper)


@contextlib.contextmanager
def _one_line_errors(url: str, prefix: str) -> Iterator[None]:
    """Database errors, and the queue's refusals of a value, as one line."""
    try:
        with database_errors(url, prefix):
            yield
    except (ConfigError, MigrationError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


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
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
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
def migrate(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Bring the database to Oban's schema v12, or --version 13 or 14 (plus piiq's additive
    objects and the Slack tables: the audit trail, the shared rate limits, history scans;
    --down-to leaves them in place)."""
    from .commands.migrate import migrate

    migrate(url, prefix, **options)


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
def worker(**options: Any) -> None:
    """Run queues: lease jobs, run their workers, record outcomes. Stops cleanly on SIGTERM.

    Every worker heartbeats and, unless --no-fast-rescue, rescues within seconds the jobs
    of workers that stopped heartbeating (a crash, kill -9, a lost node).
    """
    from .commands.worker import worker

    worker(**options)


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
def maintenance(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Prune finished jobs and rescue orphaned ones; prints one JSON summary line per pass."""
    from .commands.maintenance import maintenance

    sys.exit(maintenance(url, prefix, **options))


@main.group(invoke_without_command=True)
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
        from .commands.jobs import list_jobs

        list_jobs(url, prefix, **filters)


@jobs.command("show")
@click.argument("job_id", type=int)
@group_database
def jobs_show(url: str, prefix: str, job_id: int) -> None:
    """One job: args, meta, errors and timestamps."""
    from .commands.jobs import show_job

    show_job(url, prefix, job_id)


@main.group(invoke_without_command=True)
@click.pass_context
@database_options
def queues(ctx: click.Context, url: str, prefix: str, settings: Settings) -> None:
    """Jobs per queue and state, and queues paused or scaled (see pause, resume, scale)."""
    ctx.obj = {"url": url, "prefix": prefix}
    if ctx.invoked_subcommand is None:
        from .commands.queues import show_queues

        show_queues(url, prefix)


@queues.command("pause")
@click.argument("name")
@group_database
def queues_pause(url: str, prefix: str, name: str) -> None:
    """Stop fetching NAME on every worker; running jobs finish. Kept until resumed."""
    from .commands.queues import pause

    pause(url, prefix, name)


@queues.command("resume")
@click.argument("name")
@group_database
def queues_resume(url: str, prefix: str, name: str) -> None:
    """Fetch NAME again on every worker."""
    from .commands.queues import resume

    resume(url, prefix, name)


@queues.command("scale")
@click.argument("name")
@click.argument("limit", metavar="N|default")
@group_database
def queues_scale(url: str, prefix: str, name: str, limit: str) -> None:
    """Run at most N jobs of NAME at once in every worker (a global limit still holds);
    'default' gives each worker its own --queue limit back. Kept for workers that start."""
    from .commands.queues import scale

    scale(url, prefix, name, limit)


@main.group()
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
    from .commands.audit import export_rows

    export_rows(url, prefix, since, fmt, output)


@audit.command("dead-letters")
@database_options
@click.option("--sink", type=click.Choice(("webhook", "splunk")), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def audit_dead_letters(
    url: str, prefix: str, settings: Settings, sink: str | None, as_json: bool
) -> None:
    """Audit events a SIEM sink still refused at the last attempt."""
    from .commands.audit import show_dead_letters

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
    from .commands.audit import replay

    replay(url, prefix, settings, sink, ids)


@main.group("allow-list")
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
    from .commands.allow_list import show

    show(url, prefix, team, as_json)


@allow_list.command("remove")
@click.argument("entry_id", metavar="ID", type=click.IntRange(min=1))
@database_options
def allow_list_remove(url: str, prefix: str, settings: Settings, entry_id: int) -> None:
    """Remove entry ID (from `piiq allow-list list`): its value is flagged again."""
    from .commands.allow_list import remove

    remove(url, prefix, entry_id)


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
def canary(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Enqueue a no-op job and wait until a worker completes it (exit 1 if none does)."""
    from .commands.canary import canary

    sys.exit(canary(url, prefix, **options))


SCAN_HELP = "Find personal data in TEXT or --file and show the policy's decision.\n\n" + (
    EXIT_STATUSES.replace("\n", " ")
)


@main.command(cls=ScanCommand, help=SCAN_HELP)
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
def scan(**options: Any) -> None:
    from .commands.scan import scan

    sys.exit(scan(**options))


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
@click.option(
    "--routes",
    type=click.Choice(("all", "events", "install")),
    default="all",
    show_default=True,
    help="What to serve: all; events (events and interactivity: no OAuth client secret "
    "needed, uninstall events still delete installations with PIIQ_SLACK_CLIENT_ID); "
    "install (only /slack/install and /slack/oauth_redirect: no signing secret, no "
    "message keys). Kubernetes runs the two apart.",
)
def ingress(**options: Any) -> None:
    """Receive Slack events and enqueue one job per message.

    Serves the Events API at /slack/events (PIIQ_SLACK_SIGNING_SECRET verifies requests),
    or with --socket-mode connects to Slack over a WebSocket instead; /healthz and /readyz
    answer either way.
    """
    from .commands.ingress import ingress

    ingress(**options)


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
    from .commands.keys import generate_key

    generate_key(key_id)


@main.command("scan-history")
@database_options
@click.option(
    "--channel",
    "channels",
    multiple=True,
    metavar="ID",
    help="A channel (or DM) id to scan, e.g. C0123ABCD; repeatable.",
)
@click.option("--since", type=DURATION, default=None, help="How far back, e.g. 30d, 12h.")
@click.option(
    "--queue",
    default="default",
    show_default=True,
    help="The queue the page jobs run on (a worker must serve it).",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 999),
    default=200,
    show_default=True,
    help="Messages per conversations.history call.",
)
@click.option("--wait", is_flag=True, help="Show the scans' progress until they are done.")
@click.option("--status", is_flag=True, help="Print every scan's progress and exit.")
def scan_history(url: str, prefix: str, settings: Settings, **options: Any) -> None:
    """Scan channels' past messages for personal data, through the queue.

    Each page of conversations.history (and of each thread) is a job on --queue; every
    message found becomes the same scan job a live event makes (on the events queue, after
    live events), once however often a scan is started. Progress: --wait, or --status.
    """
    from .commands.scan_history import scan_history

    sys.exit(scan_history(url, prefix, settings, **options))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
def sandbox(host: str, port: int) -> None:
    """Run the local Slack sandbox (Web API, files, Socket Mode) for trying piiq out.

    Point piiq at it with PIIQ_SLACK_API_URL=http://HOST:PORT/api/ and its fixed tokens
    (printed at start).
    """
    from .commands.sandbox import sandbox

    sandbox(host, port)


@main.command()
def demo() -> None:
    """Slack messages with PII deleted and DMed, end to end, on a local Slack sandbox."""
    from .commands.demo import demo

    sys.exit(demo())
