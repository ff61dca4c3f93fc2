"""A local Slack for the demo and the tests, one job per module: ``workspace`` (team,
people, tokens, messages, files), ``web_api`` (the methods piiq calls, file hosting),
``tenants`` (more workspaces,
Grid orgs, the tokens of each), ``oauth`` (the authorize page, oauth.v2.access),
``faults`` (rate limits, errors, hooks), ``limits`` (Slack's per-method tiers), ``calls`` (what was asked), ``socket_mode``,
``delivery`` (signed Events API requests), ``interactivity`` (button clicks and modal
submissions, signed), ``interactive_api`` (chat.update, views.open), ``documents`` (a PDF writer) and ``server``
(``SlackSandbox``: the parts behind one HTTP server).
"""

from .calls import Call
from .delivery import SIGNING_SECRET
from .documents import text_pdf
from .limits import MethodLimits
from .oauth import CLIENT_ID, CLIENT_SECRET
from .server import SlackSandbox
from .workspace import (
    ADMIN_TOKEN,
    ADMIN_USER_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_ID,
    Workspace,
    dm_channel,
)

__all__ = [
    "ADMIN_TOKEN",
    "ADMIN_USER_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Call",
    "MethodLimits",
    "SlackSandbox",
    "Workspace",
    "dm_channel",
    "text_pdf",
]
