"""``piiq sandbox``: the local Slack, served in the foreground until interrupted."""

from __future__ import annotations

import asyncio
import contextlib

import click

from .. import sandbox as sb


def sandbox(host: str, port: int) -> None:
    """Print the sandbox's address and fixed tokens, then serve it until Ctrl-C."""
    slack = sb.SlackSandbox(host, port)
    click.echo(
        f"Slack sandbox on {slack.base_url}: bot token {sb.BOT_TOKEN}, admin token "
        f"{sb.ADMIN_TOKEN}, app token {sb.APP_TOKEN}, signing secret {sb.SIGNING_SECRET}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(slack.serve_forever())
