"""Slack fixtures: the sandbox over HTTP, settings pointing at it, a live ingress."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.runtime.argscrypt import ArgsKeys
from piiq.runtime.settings import Settings
from piiq.slack.ingress import database_check, make_app
from piiq.slack.intake import EventIntake
from piiq.slack.oauth_app import OAuthApp
from piiq.slack.oauth_flow import OAuthFlow
from piiq.slack.tables import create_slack_tables

CHANNEL = "C0GENERAL"


@pytest.fixture
def slack() -> Iterator[sb.SlackSandbox]:
    with sb.SlackSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def slack_settings(slack: sb.SlackSandbox, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment a worker reads (workers build their Slack clients from it)."""
    env = {
        "PIIQ_SLACK_API_URL": slack.base_url,
        "PIIQ_SLACK_BOT_TOKEN": sb.BOT_TOKEN,
        "PIIQ_SLACK_ADMIN_TOKEN": sb.ADMIN_TOKEN,
        "PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.fixture
def slack_client(queue_client: Client) -> Client:
    """The test's queue schema with the audit table in it (what `piiq migrate` makes)."""
    with queue_client.connect(autocommit=True) as conn:
        create_slack_tables(conn, queue_client.prefix)
    return queue_client


@pytest.fixture
async def ingress_url(slack_client: Client, slack_settings: Settings) -> AsyncIterator[str]:
    """A real ingress on 127.0.0.1 (random port), enqueueing into the test schema."""
    async for url in serve_ingress(slack_client, slack_settings):
        yield url


@pytest.fixture
async def second_ingress_url(slack_client: Client, slack_settings: Settings) -> AsyncIterator[str]:
    """Another replica on the same database."""
    async for url in serve_ingress(slack_client, slack_settings):
        yield url


async def serve_ingress(slack_client: Client, settings: Settings) -> AsyncIterator[str]:
    """An ingress as `piiq ingress` makes it from ``settings`` (PIIQ_ARGS_KEYS included)."""
    client = Client(slack_client.database_url, prefix=slack_client.prefix)
    keys = ArgsKeys.from_setting(settings.args_keys)
    async for url in serve_ingress_on(client, settings.max_event_bytes, keys):
        yield url


async def serve_ingress_on(
    client: Client,
    max_body: int = 1024 * 1024,
    keys: ArgsKeys | None = None,
    oauth: OAuthApp | None = None,
) -> AsyncIterator[str]:
    app = make_app(
        EventIntake(client, keys=keys),
        SignatureVerifier(sb.SIGNING_SECRET),
        max_body=max_body,
        ready=database_check(client, timeout=1.5),
        oauth=OAuthFlow(oauth, client) if oauth is not None else None,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
    await client.aclose()
