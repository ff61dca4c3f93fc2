"""Which Slack events are messages to scan, and the job args each one becomes.

Pure functions over the Events API envelope: the HTTP ingress and Socket Mode share them.
Args carry what the worker needs (the text, as Slack delivered it, and file metadata) and
never a token; the worker scrubs the text from the job once it is finished.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# Subtypes that carry something a person wrote or shared.
SCANNED_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}
EDITED = "message_changed"


@dataclass(frozen=True, slots=True)
class Routing:
    """What to do with one event: the job args, or None and why not (safe to log)."""

    args: dict[str, Any] | None
    reason: str


def route_event(envelope: dict[str, Any], exempt_channels: Collection[str] = ()) -> Routing:
    if envelope.get("type") != "event_callback":
        return Routing(None, f"not an event callback ({envelope.get('type')!r})")
    event = envelope.get("event") or {}
    if event.get("type") != "message":
        return Routing(None, f"event type {event.get('type')!r}")
    channel = event.get("channel")
    if not channel:
        return Routing(None, "no channel")
    if channel in exempt_channels:
        return Routing(None, "exempt channel")
    subtype = event.get("subtype")
    edited = subtype == EDITED
    if edited:
        message = event.get("message") or {}
        if not content_changed(event.get("previous_message") or {}, message):
            return Routing(None, "edit without new content")
    elif subtype not in SCANNED_SUBTYPES:
        return Routing(None, f"subtype {subtype}")
    else:
        message = event
    workspace = {
        "team": envelope.get("team_id") or envelope.get("context_team_id"),
        **_org(envelope),
    }
    return route_message(
        message, channel, workspace=workspace, event_id=envelope.get("event_id"), edited=edited
    )


def route_message(
    message: dict[str, Any],
    channel: str,
    *,
    workspace: Mapping[str, Any],
    event_id: str | None = None,
    edited: bool = False,
) -> Routing:
    """One message as Slack shows it, in an event or in ``conversations.history``: the
    job args, or why there are none (a bot's message, a channel join ...). ``workspace``
    holds ``team`` and, on Enterprise Grid, the org's fields (``jobs.WORKSPACE_ARGS``)."""
    if message.get("bot_id") or message.get("subtype") in ("bot_message", "tombstone"):
        return Routing(None, "bot message")
    if message.get("subtype") not in SCANNED_SUBTYPES:
        return Routing(None, f"subtype {message.get('subtype')}")
    if not message.get("user") or not message.get("ts"):
        return Routing(None, "no author or ts")
    args = {
        "event_id": event_id,
        "team": workspace.get("team") or message.get("team"),
        **{k: v for k, v in workspace.items() if k != "team"},
        "channel": channel,
        "user": message["user"],
        "ts": message["ts"],
        "thread_ts": message.get("thread_ts"),
        "edited": edited,
        "text": message.get("text") or "",
        "attachments": [_attachment(a) for a in message.get("attachments") or []],
        "blocks": message.get("blocks") or [],
        "files": [_file(f) for f in message.get("files") or [] if f.get("id")],
    }
    return Routing(_no_nul(args), "edited message" if edited else "message")


def _org(envelope: dict[str, Any]) -> dict[str, Any]:
    """Enterprise Grid: the org, and whether the app's installation is org-wide (Slack says
    so in ``authorizations``); nothing outside Grid. Bolt reads the same fields."""
    authorization = (envelope.get("authorizations") or [{}])[0] or {}
    enterprise = (
        envelope.get("enterprise_id")
        or envelope.get("context_enterprise_id")
        or authorization.get("enterprise_id")
    )
    if not enterprise:
        return {}
    return {
        "enterprise": enterprise,
        "enterprise_install": bool(authorization.get("is_enterprise_install")),
    }


def content_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """An edit worth scanning: new text, attachments or files (not a reaction or unfurl)."""

    def content(m: dict[str, Any]) -> tuple[Any, ...]:
        files = tuple(sorted(f.get("id", "") for f in m.get("files") or []))
        attachments = [_attachment(a) for a in m.get("attachments") or []]
        return m.get("text") or "", files, attachments

    return content(before) != content(after)


def _attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    """The parts of a (legacy) attachment that people read."""
    kept = {
        key: attachment[key]
        for key in ("pretext", "title", "text", "fallback", "footer")
        if attachment.get(key)
    }
    fields = [
        {"title": f.get("title", ""), "value": f.get("value", "")}
        for f in attachment.get("fields") or []
    ]
    if fields:
        kept["fields"] = fields
    return kept


def _file(file: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": file["id"],
        "name": file.get("name") or file.get("title") or file["id"],
        "mimetype": file.get("mimetype", ""),
        "size": file.get("size"),
    }


def _no_nul(value: Any) -> Any:
    """PostgreSQL's jsonb cannot store U+0000, anywhere; Slack content may contain it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value
