"""Slack and detection: scan, ingress, scan-history, the sandbox and the demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..commands.scan import EXIT_STATUSES, ScanCommand
from ..runtime.settings import Settings
from .options import DURATION, database_options

SCAN_HELP = "Find personal data in TEXT or --file and show the policy's decision.\n\n" + (
    EXIT_STATUSES.replace("\n", " ")
)


@click.command(cls=ScanCommand, help=SCAN_HELP)
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
    from ..commands.scan import scan

    sys.exit(scan(**options))


@click.command()
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
    from ..commands.ingress import ingress

    ingress(**options)


@click.command("scan-history")
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
    from ..commands.scan_history import scan_history

    sys.exit(scan_history(url, prefix, settings, **options))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
def sandbox(host: str, port: int) -> None:
    """Run the local Slack sandbox (Web API, files, Socket Mode) for trying piiq out.

    Point piiq at it with PIIQ_SLACK_API_URL=http://HOST:PORT/api/ and its fixed tokens
    (printed at start).
    """
    from ..commands.sandbox import sandbox

    sandbox(host, port)


@click.command()
def demo() -> None:
    """Slack messages with PII deleted and DMed, end to end, on a local Slack sandbox."""
    from ..commands.demo import demo

    sys.exit(demo())


COMMANDS = (scan, ingress, scan_history, sandbox, demo)
