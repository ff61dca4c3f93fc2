"""The Web API methods behind interactivity: chat.update (an app edits its own message)
and views.open (a modal, for a trigger id Slack handed out with a click less than 3 s
ago). Mixed into ``WebApi``; they work on its ``workspace``."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

from .answers import error as _error
from .answers import ok as _ok
from .workspace import BOT_ID, TEAM_ID, Workspace

TRIGGER_TTL_S = 3.0  # Slack: "trigger_id ... expires after three seconds"


def json_field(value: Any) -> Any:
    """A JSON argument: as sent in a JSON body, or a JSON string in a form post."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


class InteractiveMethods:
    workspace: Workspace

    def _m_chat_update(self, args: dict[str, Any], kind: str) -> web.Response:
        key = (args.get("channel", ""), args.get("ts", ""))
        message = self.workspace.messages.get(key)
        if message is None:
            return _error("message_not_found")
        if kind == "bot" and message.get("bot_id") != BOT_ID:
            return _error("cant_update_message")  # an app edits only its own messages
        blocks = json_field(args.get("blocks"))
        if not args.get("text") and blocks is None:
            return _error("no_text")
        if args.get("text"):
            message["text"] = args["text"]
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": message.get("user"), "ts": f"{time.time():.6f}"}
        return _ok(channel=key[0], ts=key[1], text=message.get("text"))

    def _m_views_open(self, args: dict[str, Any], kind: str) -> web.Response:
        issued = self.workspace.triggers.get(str(args.get("trigger_id") or ""))
        if issued is None:
            return _error("invalid_trigger_id")
        if time.monotonic() - issued[1] > TRIGGER_TTL_S:
            return _error("expired_trigger_id")
        view = json_field(args.get("view"))
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _error("invalid_arguments")
        view_id = f"V{uuid.uuid4().hex[:10].upper()}"
        opened = {**view, "id": view_id, "team_id": TEAM_ID, "bot_id": BOT_ID,
                  "app_id": "A0PIIQ", "root_view_id": view_id, "state": {"values": {}},
                  "hash": uuid.uuid4().hex}  # fmt: skip
        opened["private_metadata"] = view.get("private_metadata", "")
        self.workspace.views[view_id] = {"view": opened, "user": issued[0]}
        return _ok(view=opened)
