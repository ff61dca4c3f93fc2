"""``piiq scan-history``: start scans of channels' past messages, and show their progress.

The command checks each channel with Slack first (one ``conversations.history`` call):
a channel the app cannot read is named with the fix before anything is enqueued. The
work itself runs in the workers, one page job at a time (``piiq.slack.history``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypedDict

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..queue import Client
from ..runtime.settings import Settings
from ..slack import history_store
from ..slack.api import SlackApi, SlackCallFailed
from ..slack.history_jobs import PAGE_WORKER, start_scans
from .user_errors import UserError

# Slack's conversation ids: C (public channel), G (private channel, older ones), D (DM).
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
INVITE = "invite the app to it (/invite @piiq in the channel) or check the id"


def scan_history(
    url: str,
    prefix: str,
    settings: Settings,
    channels: Sequence[str],
    since: float | None,
    queue: str,
    page_size: int,
    wait: bool,
    status: bool,
) -> int:
    """Start the scans (and with ``wait`` follow them), or print the status; the exit
    status (1: some page was given up)."""
    if status:
        with Client(url, prefix=prefix) as client:
            print_status(client, None)
        return 0
    if not channels:
        raise UserError("name a channel to scan: --channel C0123ABCD (repeatable)")
    if since is None:
        raise UserError("say how far back to scan: --since 30d (or 12h, 90m)")
    _check_ids(channels, settings.exempt_channels)
    team = _check_slack(settings, channels)
    # Up to the end of this minute: a re-run within it is the same scan (and a message
    # posted meanwhile is scanned once too: its event's job is found).
    latest = (int(time.time()) // 60 + 1) * 60
    scans = [history_store.Scan(team, c, int(latest - since), latest) for c in channels]
    with Client(url, prefix=prefix) as client:
        first = start_scans(client, scans, queue, page_size)
        for scan, job in zip(scans, first, strict=True):
            how = "already started" if job.conflict else "started"
            click.echo(
                f"{scan.channel}: scan {how} from {_when(scan.oldest)} to {_when(scan.latest)} "
                f"(scan {scan.id}, first page job {job.id} on queue {queue!r})"
            )
        if not wait:
            click.echo("follow it with: piiq scan-history --status")
            return 0
        done = follow(client, [s.id for s in scans])
    failed = sum(s.failed for s in done)
    return 1 if failed else 0


def follow(
    client: Client, scans: list[str], interval: float = 0.5
) -> list[history_store.ScanStatus]:
    """A live display of the scans until none has a page left to run."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[pages]} pages, {task.fields[enqueued]} messages enqueued"),
        TextColumn("{task.fields[skipped]} already scanned, {task.fields[threads]} threads"),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as progress:
        tasks: dict[str, TaskID] = {}
        while True:
            current = _statuses(client, scans)
            for s in current:
                if s.scan not in tasks:
                    tasks[s.scan] = progress.add_task(s.channel, total=None, **_fields(s))
                progress.update(tasks[s.scan], **_fields(s))
                if s.done:
                    progress.update(tasks[s.scan], total=1, completed=1)
            if all(s.done for s in current):
                return current
            time.sleep(interval)


def print_status(client: Client, scans: list[str] | None) -> None:
    current = _statuses(client, scans)
    if not current:
        click.echo(
            "no history scans yet: start one with piiq scan-history --channel C... --since 30d"
        )
        return
    table = Table(
        "channel",
        "from",
        "to",
        "started",
        "pages",
        "enqueued",
        "already scanned",
        "threads",
        "pages left",
        "state",
    )
    for s in current:
        table.add_row(
            s.channel,
            _when(s.oldest),
            _when(s.latest),
            s.started_at.strftime("%Y-%m-%d %H:%M"),
            str(s.pages),
            str(s.enqueued),
            str(s.skipped),
            str(s.threads),
            str(s.pending),
            _fields(s)["state"],
        )
    Console(width=200).print(table)


def _statuses(client: Client, scans: list[str] | None) -> list[history_store.ScanStatus]:
    with client.connection() as conn:
        return history_store.statuses(conn, client.prefix, PAGE_WORKER, scans)


class _Fields(TypedDict):
    """A scan's figures, as the progress columns name them."""

    pages: int
    enqueued: int
    skipped: int
    threads: int
    state: str


def _fields(s: history_store.ScanStatus) -> _Fields:
    if not s.done:
        state = "running"
    elif s.failed:
        state = f"done, {s.failed} pages given up (see piiq jobs --state cancelled)"
    else:
        state = "done"
    return {
        "pages": s.pages,
        "enqueued": s.enqueued,
        "skipped": s.skipped,
        "threads": s.threads,
        "state": state,
    }


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check_ids(channels: Sequence[str], exempt: Sequence[str]) -> None:
    for channel in channels:
        if not CHANNEL_ID.fullmatch(channel):
            raise UserError(
                f"--channel {channel!r} is not a conversation id: pass the id (e.g. C0123ABCD, "
                "shown at the bottom of the channel's details), not its name"
            )
        if channel in exempt:
            raise UserError(
                f"--channel {channel} is exempt (PIIQ_EXEMPT_CHANNELS): piiq does not scan it; "
                "remove it there first or leave it out"
            )


def _check_slack(settings: Settings, channels: Sequence[str]) -> str:
    """The workspace's id; each channel read once, so a mistake is named before anything
    is enqueued."""
    token = settings.slack_bot_token
    if token is None or not token.get_secret_value():
        raise UserError(
            "no Slack bot token: set PIIQ_SLACK_BOT_TOKEN (the token the workers use) to "
            "check the channels and find the workspace"
        )
    api = SlackApi(settings.slack_api_url, token, None)
    try:
        team = str(api.call(api.bot, "auth.test")["team_id"])
    except SlackCallFailed as exc:
        raise UserError(f"{exc}: check PIIQ_SLACK_BOT_TOKEN and PIIQ_SLACK_API_URL") from None
    except OSError as exc:
        raise UserError(
            f"Slack did not answer at {settings.slack_api_url} ({type(exc).__name__}): "
            "check PIIQ_SLACK_API_URL and the network"
        ) from None
    for channel in channels:
        try:
            api.call(api.bot, "conversations.history", channel=channel, limit=1)
        except SlackCallFailed as exc:
            failure = exc.failure
            if failure.kind == "rate_limited":
                raise UserError(
                    f"--channel {channel}: Slack is rate limiting conversations.history; "
                    f"try again in {failure.retry_after:g}s"
                ) from None
            if failure.error in ("channel_not_found", "not_in_channel"):
                raise UserError(
                    f"--channel {channel}: Slack says {failure.error} (the app cannot read "
                    f"it): {INVITE}"
                ) from None
            if failure.error == "missing_scope":
                raise UserError(
                    f"--channel {channel}: the app lacks the history scope for this kind of "
                    "conversation (channels:history, groups:history, im:history or "
                    "mpim:history): add it (examples/slack-app.yaml) and reinstall the app"
                ) from None
            raise UserError(f"--channel {channel}: {failure}") from None
    return team
