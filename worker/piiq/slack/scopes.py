"""The OAuth scopes each Slack Web API method piiq calls needs, by the token that calls it.

The app manifest (examples/slack-app.yaml) asks for exactly these; a test reads every
method named in this package and holds the two together, so a new call cannot ship
without its scope, nor a scope stay requested that nothing uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Token = Literal["bot", "user", "app", "none"]

# The conversation kinds a history read may meet: public and private channels, DMs and
# group DMs (the bot reads only those it is in).
HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")


@dataclass(frozen=True, slots=True)
class Needs:
    token: Token  # bot (xoxb-), user (xoxp-, a workspace admin's), app (xapp-), none
    scopes: tuple[str, ...]
    why: str


METHODS: dict[str, Needs] = {
    "auth.test": Needs("none", (), "which workspace a token is for (scan-history)"),
    "chat.postMessage": Needs("bot", ("chat:write",), "the author's DM, admin alerts"),
    "chat.update": Needs("bot", ("chat:write",), "a review message's buttons done"),
    "views.open": Needs("bot", (), "the author's 'Not personal data' modal"),
    "chat.delete": Needs("user", ("chat:write",), "an admin deletes anyone's message"),
    "files.info": Needs("bot", ("files:read",), "a shared file's name, size and owner"),
    "files.download": Needs("bot", ("files:read",), "a shared file's content (url_private)"),
    "files.getUploadURLExternal": Needs("bot", ("files:write",), "release a held file"),
    "files.completeUploadExternal": Needs("bot", ("files:write",), "... shared in its channel"),
    "files.delete": Needs("user", ("files:write",), "an admin deletes anyone's file"),
    "conversations.open": Needs("bot", ("im:write",), "the DM to a message's author"),
    "conversations.history": Needs("bot", HISTORY, "history scans; a retry finds its notice"),
    "conversations.replies": Needs("bot", HISTORY, "history scans read threads"),
    "apps.connections.open": Needs("app", ("connections:write",), "Socket Mode"),
    "oauth.v2.access": Needs("none", (), "OAuth installs, and refreshing rotated tokens"),
}

# Events API subscriptions: each delivers the ``message`` event for one kind of
# conversation the bot is in (``channel_type`` channel, group, im, mpim).
MESSAGE_EVENTS = {
    "message.channels": ("channel", "channels:history"),
    "message.groups": ("group", "groups:history"),
    "message.im": ("im", "im:history"),
    "message.mpim": ("mpim", "mpim:history"),
}


def scopes_for(methods: set[str], token: Token) -> set[str]:
    """The scopes a token needs to call ``methods`` (a method not listed raises KeyError)."""
    return {s for m in methods for s in METHODS[m].scopes if METHODS[m].token == token}
