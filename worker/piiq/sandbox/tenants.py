"""The sandbox's workspaces and the tokens that open them.

The default workspace (``TEAM_ID``) answers the fixed tokens (``BOT_TOKEN``,
``ADMIN_TOKEN``, ``APP_TOKEN``) as before; more workspaces, and Enterprise Grid orgs of
them, are added by tests. Tokens issued through OAuth (``oauth``) open only their own
workspace, or every workspace of their org for an org-wide install; each has a label
(``T0SECOND/bot#1``) the call log shows instead of the token, so a test can tell which
token made a call. With rotation, tokens expire and a refresh token (single use) gets a
new pair.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .workspace import ADMIN_TOKEN, APP_TOKEN, BOT_TOKEN, TEAM_ID, Workspace

PREFIXES = {"bot": "xoxb", "admin": "xoxp", "app": "xapp"}


@dataclass
class Grant:
    """What one token may do: its workspace (None for an org-wide one), org and kind."""

    team: str | None
    enterprise: str | None
    kind: str  # "bot", "admin" (a workspace admin's user token) or "app"
    label: str
    expires_at: float | None = None  # epoch seconds; None: never

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()


@dataclass
class Tenants:
    default: Workspace
    lock: threading.Lock
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str | None, str | None, str]] = field(default_factory=dict)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def __post_init__(self) -> None:
        self.workspaces[self.default.team_id] = self.default
        for token, kind in ((BOT_TOKEN, "bot"), (ADMIN_TOKEN, "admin"), (APP_TOKEN, "app")):
            self.grants[token] = Grant(TEAM_ID, None, kind, f"{TEAM_ID}/{kind}")

    def add_workspace(self, team_id: str, enterprise_id: str | None = None) -> Workspace:
        workspace = Workspace.with_people(team_id=team_id, enterprise_id=enterprise_id)
        workspace.lock = self.lock  # one lock for the whole sandbox
        with self.lock:
            self.workspaces[team_id] = workspace
        return workspace

    def in_org(self, enterprise_id: str) -> list[Workspace]:
        return [w for w in self.workspaces.values() if w.enterprise_id == enterprise_id]

    def issue(
        self, team: str | None, enterprise: str | None, kind: str, lifetime: int | None
    ) -> tuple[str, str | None]:
        """A new token (and, with a ``lifetime``, a refresh token); the caller holds the lock."""
        number = next(self._serial)
        token = f"{PREFIXES[kind]}-{team or enterprise}-{number}-{secrets.token_hex(8)}"
        expires = time.time() + lifetime if lifetime is not None else None
        label = f"{team or enterprise}/{kind}#{number}"
        self.grants[token] = Grant(team, enterprise, kind, label, expires)
        if lifetime is None:
            return token, None
        refresh = f"xoxe-1-{secrets.token_hex(12)}"
        self.refresh_tokens[refresh] = (team, enterprise, kind)
        return token, refresh

    def workspace_for(self, grant: Grant, args: Mapping[str, Any]) -> Workspace:
        """The workspace a call works in: the token's own, or for an org-wide token the
        workspace of its org that holds the channel or file the call names."""
        if grant.team is not None:
            return self.workspaces[grant.team]
        org = self.in_org(grant.enterprise or "") or [self.default]
        channel, file_id = str(args.get("channel") or ""), str(args.get("file") or "")
        for workspace in org:
            if (channel and workspace.has_channel(channel)) or file_id in workspace.files:
                return workspace
        return org[0]
