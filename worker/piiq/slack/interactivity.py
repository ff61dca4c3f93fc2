"""Slack's interactivity requests (button clicks, modal submissions) into queue jobs.

Slack POSTs ``application/x-www-form-urlencoded`` with one field, ``payload``, holding
JSON; it is signed like an event (the ingress checks the signature first, with the same
code). The ingress answers 200 as soon as the job is stored (Slack waits 3 s); the
``ReviewWorker`` does the work. One job per interaction: its key is the workspace, the
trigger id and the action, so a request delivered twice makes one job. What the author
typed in the modal (the justification) is sealed in the job like message text and
scrubbed when it finishes.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from ..queue import Job
from ..runtime.argscrypt import SEALED, ArgsKeys
from . import review_blocks as rb
from .jobs import sealed_job

REVIEW_WORKER = "piiq.slack.review.ReviewWorker"
SEALED_ARGS = ("justification",)
SENSITIVE_ARGS = (*SEALED_ARGS, SEALED)
BUTTONS = {rb.RELEASE, rb.DELETE, rb.FALSE_POSITIVE, rb.REJECT_REPORT, rb.NOT_PII, rb.REMOVED}


class NotAnInteraction(ValueError):
    """The body is not ``payload=<JSON object>``."""


def parse(raw: bytes) -> dict[str, Any]:
    try:
        fields = urllib.parse.parse_qs(raw.decode(), strict_parsing=True)
        payload = json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, IndexError):
        raise NotAnInteraction("body is not payload=<JSON>") from None
    if not isinstance(payload, dict):
        raise NotAnInteraction("payload is not a JSON object")
    return payload


def interaction_args(payload: dict[str, Any]) -> dict[str, Any] | None:
    """What the worker needs of a payload; None for interactions piiq has no part in."""
    team = str(
        (payload.get("team") or {}).get("id") or (payload.get("user") or {}).get("team_id") or ""
    )
    user = str((payload.get("user") or {}).get("id") or "")
    trigger = str(payload.get("trigger_id") or "")
    base = {"team": team, "user": user, "trigger_id": trigger}
    if payload.get("type") == "block_actions":
        actions = [a for a in payload.get("actions") or [] if a.get("action_id") in BUTTONS]
        if not actions:
            return None
        action = actions[0]
        container = payload.get("container") or {}
        return base | {
            "action_id": action["action_id"],
            "item_id": _item_id(action.get("value")),
            "channel": str(container.get("channel_id") or ""),
            "message_ts": str(container.get("message_ts") or ""),
        }
    view = payload.get("view") or {}
    if payload.get("type") == "view_submission" and view.get("callback_id") == rb.NOT_PII_MODAL:
        values = (view.get("state") or {}).get("values") or {}
        typed = (values.get(rb.JUSTIFICATION_BLOCK) or {}).get(rb.JUSTIFICATION_INPUT) or {}
        return base | {
            "action_id": rb.NOT_PII_MODAL,
            "item_id": _item_id(view.get("private_metadata")),
            "justification": str(typed.get("value") or ""),
        }
    return None


def _item_id(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def interaction_job(args: dict[str, Any], keys: ArgsKeys | None = None) -> Job:
    key = f"slack-interaction:{args['team']}:{args['trigger_id']}:{args['action_id']}"
    return sealed_job(REVIEW_WORKER, args, keys, SEALED_ARGS, key)
