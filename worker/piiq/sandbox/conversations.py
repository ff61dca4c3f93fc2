"""Reading a conversation as Slack pages it: ``conversations.history`` (top-level messages,
newest first, a thread's parent carrying ``reply_count``) and ``conversations.replies``
(a thread, the parent first, then replies oldest first).

Both take ``oldest``/``latest`` (exclusive unless ``inclusive``), ``limit`` and ``cursor``
and answer ``has_more`` and ``response_metadata.next_cursor``. A cursor names the next
message's ts (``base64("next_ts:<ts>")``, as Slack's do), not an offset: a message deleted
between two pages does not shift the next page. The caller holds the workspace's lock.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .workspace import Workspace

DEFAULT_LIMIT = 100
MAX_LIMIT = 999


class ConversationError(Exception):
    """Slack's error code for the request (``ok: false``)."""


@dataclass(frozen=True, slots=True)
class Window:
    oldest: float
    latest: float
    inclusive: bool
    limit: int
    after: float | None  # the cursor's ts: the page starts there

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Window:
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
            limit = min(max(int(args.get("limit") or DEFAULT_LIMIT), 1), MAX_LIMIT)
        except ValueError:
            raise ConversationError("invalid_arguments") from None
        return cls(oldest, latest, flag(args.get("inclusive")), limit, _cursor_ts(args))

    def holds(self, ts: float) -> bool:
        if self.inclusive:
            return self.oldest <= ts <= self.latest
        return self.oldest < ts < self.latest


def history(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """``conversations.history``: the channel's top-level messages (and replies also sent
    to the channel), newest first; messages in threads are left to ``replies``."""
    channel = args.get("channel", "")
    _check_access(workspace, channel)
    window = Window.from_args(args)
    messages = _in_channel(workspace, channel)
    top = [m for m in messages if _top_level(m)]
    found = sorted((m for m in top if window.holds(float(m["ts"]))), key=_ts, reverse=True)
    if window.after is not None:
        found = [m for m in found if float(m["ts"]) <= window.after]
    metadata = flag(args.get("include_all_metadata"))
    return _page(found, window.limit, lambda m: _shown(m, messages, metadata))


def replies(workspace: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """``conversations.replies``: the thread of ``ts``, its parent first (on the first
    page), then the replies within the window, oldest first."""
    channel = args.get("channel", "")
    _check_access(workspace, channel)
    thread_ts = str(args.get("ts") or "")
    parent = workspace.messages.get((channel, thread_ts))
    if parent is None:
        raise ConversationError("thread_not_found")
    window = Window.from_args(args)
    messages = _in_channel(workspace, channel)
    found = sorted(
        (
            m
            for m in messages
            if m.get("thread_ts") == thread_ts
            and m["ts"] != thread_ts
            and window.holds(float(m["ts"]))
        ),
        key=_ts,
    )
    if window.after is not None:
        found = [m for m in found if float(m["ts"]) >= window.after]
    else:
        found = [parent, *found]
    metadata = flag(args.get("include_all_metadata"))
    return _page(found, window.limit, lambda m: _shown(m, messages, metadata))


def flag(value: Any) -> bool:
    """A boolean parameter as Slack reads it: true, 1 (what slack_sdk sends for True)."""
    return str(value).lower() in ("1", "true")


def _check_access(workspace: Workspace, channel: str) -> None:
    """Slack's answer for a conversation the app cannot read: a private channel the bot
    is not in does not exist for it; a public one it has not joined is ``not_in_channel``."""
    if channel.startswith("D"):  # the bot's DMs
        return
    known = workspace.channels.get(channel)
    if known is None or (known.private and not known.bot_member):
        raise ConversationError("channel_not_found")
    if not known.bot_member:
        raise ConversationError("not_in_channel")


def _in_channel(workspace: Workspace, channel: str) -> list[dict[str, Any]]:
    return [m for (c, _), m in workspace.messages.items() if c == channel]


def _top_level(message: dict[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return (
        not thread_ts or thread_ts == message["ts"] or message.get("subtype") == "thread_broadcast"
    )


def _shown(
    message: dict[str, Any], messages: list[dict[str, Any]], all_metadata: bool
) -> dict[str, Any]:
    """The message as Slack shows it to the app: a thread's parent with its reply count,
    message metadata whole only with ``include_all_metadata`` (else just its event_type)."""
    shown = {k: v for k, v in message.items() if k != "channel" and v is not None}
    if "metadata" in shown and not all_metadata:
        shown["metadata"] = {"event_type": shown["metadata"]["event_type"]}
    thread = sorted(
        (m for m in messages if m.get("thread_ts") == message["ts"] and m is not message),
        key=_ts,
    )
    if thread:
        users = sorted({m["user"] for m in thread if m.get("user")})
        shown.update(
            thread_ts=message["ts"],
            reply_count=len(thread),
            reply_users=users,
            reply_users_count=len(users),
            latest_reply=thread[-1]["ts"],
        )
    return shown


def _page(
    found: list[dict[str, Any]],
    limit: int,
    show: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    page, rest = found[:limit], found[limit:]
    cursor = _encode_cursor(rest[0]["ts"]) if rest else ""
    return {
        "messages": [show(m) for m in page],
        "has_more": bool(rest),
        "response_metadata": {"next_cursor": cursor},
    }


def _ts(message: dict[str, Any]) -> float:
    return float(message["ts"])


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(args: dict[str, Any]) -> float | None:
    cursor = args.get("cursor")
    if not cursor:
        return None
    try:
        kind, _, ts = base64.b64decode(str(cursor), validate=True).decode().partition(":")
        if kind != "next_ts":
            raise ValueError(kind)
        return float(ts)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ConversationError("invalid_cursor") from None
