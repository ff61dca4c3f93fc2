"""Slack's side of interactivity: a person clicks a button on a message, or submits a
modal, and Slack POSTs the app's interactivity URL a signed
``application/x-www-form-urlencoded`` body, ``payload=<JSON>`` (a ``block_actions`` or
``view_submission`` payload, shaped as Slack documents them). A click hands out a
``trigger_id`` that views.open accepts for 3 s."""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from typing import Any

from .delivery import EventDelivery, post
from .workspace import BOT_ID, TEAM_ID, Workspace

FORM = "application/x-www-form-urlencoded"


class Interactivity:
    def __init__(self, workspace: Workspace, delivery: EventDelivery) -> None:
        self.workspace = workspace
        self.delivery = delivery

    def click(
        self,
        url: str,
        channel: str,
        ts: str,
        action_id: str,
        user: str,
        shown: dict[str, Any] | None = None,
    ) -> tuple[int, bytes]:
        """``user`` clicks the button ``action_id`` on the message at (channel, ts), as it
        is now or as ``shown`` (a stale copy). ValueError when the message has no such
        button (nobody could click it)."""
        with self.workspace.lock:
            message = dict(shown or self.workspace.messages.get((channel, ts)) or {})
        block_id, button = _button(message, action_id)
        payload = self._base("block_actions", user) | {
            "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                          "is_ephemeral": False},
            "channel": {"id": channel, "name": channel.lower()},
            "message": message,
            "state": {"values": {}},
            "response_url": f"https://hooks.slack.com/actions/{TEAM_ID}/{secrets.token_hex(4)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": button.get("text"),
                    "value": button.get("value"),
                    "action_ts": f"{time.time():.6f}",
                    **({"style": button["style"]} if button.get("style") else {}),
                }
            ],
        }  # fmt: skip
        return self.send(url, payload)

    def submit(
        self, url: str, view_id: str, user: str, values: dict[str, dict[str, str]]
    ) -> tuple[int, bytes]:
        """``user`` submits the open modal ``view_id`` with ``values`` ({block: {action: text}})."""
        with self.workspace.lock:
            opened = self.workspace.views[view_id]
        view = dict(opened["view"])
        view["state"] = {
            "values": {
                block: {action: {"type": "plain_text_input", "value": text}
                        for action, text in inputs.items()}
                for block, inputs in values.items()
            }
        }  # fmt: skip
        payload = self._base("view_submission", user) | {"view": view, "response_urls": []}
        return self.send(url, payload)

    def send(self, url: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        """POST ``payload`` as Slack does: form-encoded, signed."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return post(url, body, self.delivery.signed_headers(body, content_type=FORM))

    def open_views(self, user: str) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return [v["view"] for v in self.workspace.views.values() if v["user"] == user]

    def _base(self, kind: str, user: str) -> dict[str, Any]:
        trigger = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self.workspace.lock:
            self.workspace.triggers[trigger] = (user, time.monotonic())
            name = (self.workspace.users.get(user) or {}).get("name", user)
        return {
            "type": kind,
            "team": {"id": TEAM_ID, "domain": "sandbox"},
            "user": {"id": user, "username": name, "name": name, "team_id": TEAM_ID},
            "api_app_id": "A0PIIQ",
            "token": "unused-verification-token",
            "trigger_id": trigger,
            "enterprise": None,
            "is_enterprise_install": False,
        }


def _button(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    raise ValueError(f"no button {action_id!r} on that message (bot {BOT_ID})")
