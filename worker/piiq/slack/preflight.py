"""Start-up checks of a worker process that runs the Slack queues: fail at once, in one
line, on a setting every job would trip over, instead of discarding jobs one by one."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from ..runtime.argscrypt import ArgsKeys, describe
from ..runtime.settings import Settings
from .jobs import FILE_QUEUE, MESSAGE_QUEUE
from .oauth_app import OAuthApp
from .siem.outbox import AUDIT_QUEUE
from .siem.sinks import SinkConfigError, configured_sinks

log = structlog.get_logger("piiq.slack")

SLACK_QUEUES = (MESSAGE_QUEUE, FILE_QUEUE)


class SlackSetupError(ValueError):
    """A setting the Slack workers need is missing or unreadable (a one-line message)."""


def slack_queues(queue_specs: Iterable[str]) -> list[str]:
    """The Slack queues among ``--queue NAME=N`` specs."""
    names = {spec.partition("=")[0].strip() for spec in queue_specs}
    return [queue for queue in SLACK_QUEUES if queue in names]


def check_worker(settings: Settings, queue_specs: Iterable[str]) -> ArgsKeys | None:
    """For a worker running the Slack queues: the bot token is there (or OAuth installs
    are), PIIQ_ARGS_KEYS reads; says once whether job args are encrypted. Raises
    SlackSetupError otherwise. Those and the audit queue also need each audit sink whole
    (a URL with its secret)."""
    queue_specs = list(queue_specs)
    check_audit_sinks(settings, queue_specs)
    queues = slack_queues(queue_specs)
    if not queues:
        return None
    try:
        oauth = OAuthApp.from_settings(settings)
    except ValueError as exc:
        raise SlackSetupError(str(exc)) from None
    bot_token = settings.slack_bot_token
    if oauth is None and (not bot_token or not bot_token.get_secret_value().strip()):
        raise SlackSetupError(
            f"the Slack queues ({', '.join(queues)}) need PIIQ_SLACK_BOT_TOKEN, which is not "
            "set: give the worker the bot token (xoxb-) from your Slack app's OAuth & "
            "Permissions page (or set PIIQ_SLACK_CLIENT_ID for OAuth installs)"
        )
    try:
        keys = ArgsKeys.from_setting(settings.args_keys)
    except ValueError as exc:
        raise SlackSetupError(str(exc)) from None
    log.info("job args", queues=queues, **describe(keys))
    if oauth is not None:
        log.info("slack tokens", source="installations", fallback="secret" if bot_token else None)
    return keys


def check_audit_sinks(settings: Settings, queue_specs: Iterable[str]) -> None:
    """Workers that write audit rows (Slack queues) or deliver them (``audit``)."""
    names = {spec.partition("=")[0].strip() for spec in queue_specs}
    if names & {*SLACK_QUEUES, AUDIT_QUEUE}:
        try:
            configured_sinks(settings)
        except SinkConfigError as exc:
            raise SlackSetupError(str(exc)) from None
