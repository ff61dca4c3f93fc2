"""``piiq ingress``: Slack events in (the Events API over HTTP, or Socket Mode), one job
per message out; and the OAuth install pages, here or (``--routes install``) alone."""

from __future__ import annotations

import asyncio

import click

from ..runtime import logs
from ..runtime.argscrypt import ArgsKeyError, ArgsKeys
from ..runtime.probes import ProbesUnavailable
from ..runtime.settings import Settings
from ..slack.ingress import run_ingress
from ..slack.oauth_app import OAuthApp, OAuthConfigError


def ingress(
    url: str,
    prefix: str,
    settings: Settings,
    host: str,
    port: int | None,
    socket_mode: bool,
    routes: str = "all",
) -> None:
    """Check the Slack settings the transport needs, then serve until stopped."""
    logs.configure(settings.log_level, settings.log_format)
    try:
        args_keys = ArgsKeys.from_setting(settings.args_keys)
        oauth = OAuthApp.from_settings(settings) if routes != "events" else None
    except (ArgsKeyError, OAuthConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    if routes == "install":
        _check_install_only(oauth, socket_mode)
    secret, app_token = settings.slack_signing_secret, settings.slack_app_token
    if socket_mode and app_token is None:
        raise click.UsageError(
            "--socket-mode needs PIIQ_SLACK_APP_TOKEN: an app-level token (xapp-) with "
            "connections:write, from your Slack app's Basic Information page"
        )
    if not socket_mode and secret is None and routes != "install":
        raise click.UsageError(
            "the Events API needs PIIQ_SLACK_SIGNING_SECRET (Basic Information -> Signing "
            "Secret in your Slack app); or use --socket-mode with PIIQ_SLACK_APP_TOKEN"
        )
    events = routes != "install"
    serving = run_ingress(
        url,
        prefix,
        signing_secret=secret.get_secret_value() if secret and events and not socket_mode else None,
        app_token=app_token.get_secret_value() if app_token and socket_mode else None,
        api_url=settings.slack_api_url,
        exempt_channels=settings.exempt_channels,
        host=host,
        port=port if port is not None else settings.ingress_port,
        max_body=settings.max_event_bytes,
        metrics_port=settings.metrics_port,
        args_keys=args_keys if events else None,
        oauth=oauth,
        forget_client_id=settings.slack_client_id if routes == "events" else None,
    )
    try:
        asyncio.run(serving)
    except ProbesUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def _check_install_only(oauth: OAuthApp | None, socket_mode: bool) -> None:
    if socket_mode:
        raise click.UsageError(
            "--routes install serves only the install pages: drop --socket-mode (events come "
            "in through another `piiq ingress`)"
        )
    if oauth is None:
        raise click.UsageError(
            "--routes install serves the OAuth install, which needs PIIQ_SLACK_CLIENT_ID, "
            "PIIQ_SLACK_CLIENT_SECRET and PIIQ_SLACK_TOKEN_KEYS (docs/slack.md)"
        )
