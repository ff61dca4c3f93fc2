"""A local Slack for the demo and the tests (see ``server``)."""

from .server import (
    ADMIN_TOKEN,
    ADMIN_USER_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    Call,
    SlackSandbox,
    _dm_channel,
    text_pdf,
)

__all__ = [
    "ADMIN_TOKEN",
    "ADMIN_USER_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Call",
    "SlackSandbox",
    "_dm_channel",
    "text_pdf",
]
