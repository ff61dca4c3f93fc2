"""The sandbox's workspace: its fixed team, people, bot and tokens, and what people do in
it (post, edit, share a file), kept as Slack keeps it.

Nothing here is secret: the sandbox's tokens are fixed strings.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TEAM_ID = "T0SANDBOX"
BOT_TOKEN = "xoxb-sandbox-bot"
ADMIN_TOKEN = "xoxp-sandbox-admin"
APP_TOKEN = "xapp-sandbox-app"
BOT_USER_ID = "U0PIIQBOT"
BOT_ID = "B0PIIQBOT"
ADMIN_USER_ID = "U0ADMIN"

# The kind of each token, as the Web API tells them apart.
TOKENS = {BOT_TOKEN: "bot", ADMIN_TOKEN: "admin", APP_TOKEN: "app"}

PEOPLE = [
    ("U0ALICE", "alice", False),
    ("U0BOB", "bob", False),
    ("U0CAROL", "carol", False),
    (ADMIN_USER_ID, "security-admin", True),
]


@dataclass(slots=True)
class Channel:
    """A channel as the bot sees it: private or public, and whether the bot is in it."""

    private: bool = False
    bot_member: bool = True


@dataclass
class Workspace:
    """Users, messages by (channel, ts), files and their bodies, and revoked tokens.

    ``lock`` guards all of it, and is the one lock of the whole sandbox (every workspace
    of it shares it): a Web API call is answered and recorded under it, so what a test
    reads is never half a call. ``team_id`` and, in Enterprise Grid, ``enterprise_id``
    say which workspace it is; ``org_install`` that the app is installed org-wide.
    """

    team_id: str = TEAM_ID
    enterprise_id: str | None = None
    org_install: bool = False
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_bodies: dict[str, bytes] = field(default_factory=dict)
    # Uploads begun with files.getUploadURLExternal: file id -> name, length, bytes sent.
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    # Interactivity: trigger ids handed out with clicks (-> user, when), opened modals.
    triggers: dict[str, tuple[str, float]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @classmethod
    def with_people(cls, **fields: Any) -> Workspace:
        """alice, bob, carol, a workspace admin and the piiq bot."""
        workspace = cls(**fields)
        for user_id, name, admin in PEOPLE:
            workspace.add_user(user_id, name, is_admin=admin)
        workspace.add_user(BOT_USER_ID, "piiq", is_bot=True)
        return workspace

    def add_user(
        self, user_id: str, name: str, *, is_admin: bool = False, is_bot: bool = False
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": name.title(),
            "is_admin": is_admin,
            "is_owner": is_admin,
            "is_bot": is_bot,
            "deleted": False,
        }

    def add_channel(self, channel: str, *, private: bool = False, bot_member: bool = True) -> None:
        """A channel; one that people post in exists already (with the bot in it)."""
        with self.lock:
            self.channels[channel] = Channel(private, bot_member)

    def known_channel(self, channel: str) -> None:
        """A channel someone posts in exists; the caller holds the lock."""
        if not channel.startswith("D"):
            self.channels.setdefault(channel, Channel())

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def add_file(self, name: str, body: bytes, mimetype: str, *, files_url: str) -> dict[str, Any]:
        """A file hosted under ``files_url`` (the sandbox's /files-pri)."""
        with self.lock:
            return self.store_file(new_file_id(), name, body, mimetype, files_url=files_url)

    def store_file(
        self, file_id: str, name: str, body: bytes, mimetype: str, *, files_url: str
    ) -> dict[str, Any]:
        """``add_file`` for a caller that holds the lock already (an upload)."""
        root = f"{files_url}/{self.team_id}-{file_id}"
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(body),
            "url_private": f"{root}/{name}",
            "url_private_download": f"{root}/download/{name}",
        }
        self.files[file_id] = info
        self.file_bodies[file_id] = body
        return info

    def post_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A person posts in Slack: the message is stored; returns the event envelope."""
        ts = self.new_ts()
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.team_id,
            "channel_type": "channel",
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if files:
            message.update(subtype="file_share", files=files)
        with self.lock:
            self.known_channel(channel)
            self.messages[(channel, ts)] = message
        return self.envelope(dict(message))

    def edit_message(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        """A person edits a message: Slack sends ``message_changed`` with both versions."""
        with self.lock:
            before = dict(self.messages[(channel, ts)])
            after = {**before, "text": text, "edited": {"user": before["user"], "ts": ts}}
            self.messages[(channel, ts)] = after
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": channel,
            "hidden": True,
            "ts": self.new_ts(),
            "message": after,
            "previous_message": before,
            "channel_type": "channel",
        }
        return self.envelope(event)

    def message_exists(self, channel: str, ts: str) -> bool:
        return (channel, ts) in self.messages

    def has_channel(self, channel: str) -> bool:
        return any(c == channel for c, _ in self.messages)

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` as the Events API wraps it for the app installed here."""
        return envelope(event, self.team_id, self.enterprise_id, self.org_install)


def envelope(
    event: dict[str, Any],
    team_id: str = TEAM_ID,
    enterprise_id: str | None = None,
    org_install: bool = False,
) -> dict[str, Any]:
    """``event`` as the Events API wraps it for the app; in Enterprise Grid with the org's
    id, and for an org-wide install an authorization without a workspace, as Slack does."""
    authorization = {
        "enterprise_id": enterprise_id,
        "team_id": None if org_install else team_id,
        "user_id": BOT_USER_ID,
        "is_bot": True,
        "is_enterprise_install": org_install,
    }
    wrapped = {
        "token": "unused-verification-token",
        "team_id": team_id,
        "api_app_id": "A0PIIQ",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "authorizations": [authorization],
    }
    if enterprise_id:
        wrapped |= {"enterprise_id": enterprise_id, "context_enterprise_id": enterprise_id}
        wrapped["context_team_id"] = team_id
    else:
        del authorization["enterprise_id"], authorization["is_enterprise_install"]
    return wrapped


def new_file_id() -> str:
    return f"F{uuid.uuid4().hex[:10].upper()}"


def dm_channel(user: str) -> str:
    """The id of the bot's DM channel with ``user``."""
    return "D" + user.removeprefix("U")
