"""Notices that say which job sent them, so a retry can find one an earlier attempt sent.

A DM or an admin alert is posted with message metadata (``event_type`` ``piiq_notice``,
payload ``{job_id, step}``). The step is recorded in the job right after, but that record
can fail (the database went away, the row was rescued): the retry then looks in the
channel's history for its own notice before it posts again, and posts nothing if it is
there. Looking costs one ``conversations.history`` call (scopes ``im:history``, and
``channels:history`` or ``groups:history`` for the admin channel), on retried attempts
only.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import structlog

from ..queue import Job
from .api import SlackApi, SlackCallFailed

log = structlog.get_logger("piiq.slack")

EVENT_TYPE = "piiq_notice"
PAGE = 200
MAX_PAGES = 5  # a DM channel holds only our notices; an admin channel, since the job began
CLOCK_SKEW_S = 300  # Slack's clock and ours: look a little further back than the insert


def metadata(job: Job, step: str) -> dict[str, Any]:
    """What goes in ``chat.postMessage``'s ``metadata``: no text, no values, just the job."""
    return {"event_type": EVENT_TYPE, "event_payload": {"job_id": job.id, "step": step}}


def find(api: SlackApi, channel: str, job: Job, step: str) -> str | None:
    """The ts of this job's ``step`` notice in ``channel``, if an earlier attempt posted it.

    A failure a retry may fix (network, 429, a token) propagates: better later than twice.
    If the bot may not read the channel (a missing scope), it says so and returns None:
    the notice is then sent, perhaps again.
    """
    params: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": PAGE}
    if job.inserted_at is not None:
        params["oldest"] = f"{job.inserted_at.replace(tzinfo=UTC).timestamp() - CLOCK_SKEW_S:.6f}"
    try:
        for _ in range(MAX_PAGES):
            page = api.call(api.bot, "conversations.history", **params)
            for message in page.get("messages") or []:
                # Posted by a bot (people cannot attach metadata from the Slack client).
                if message.get("bot_id") and _is_notice(message.get("metadata"), job, step):
                    return str(message.get("ts"))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
            params["cursor"] = cursor
    except SlackCallFailed as exc:
        if exc.failure.kind in ("transient", "rate_limited", "auth"):
            raise
        log.warning(
            "cannot look for an earlier notice: it may be sent twice",
            job_id=job.id,
            step=step,
            error=exc.failure.error,
            fix="give the bot im:history, and channels:history or groups:history for the "
            "admin channel",
        )
        return None
    log.warning("earlier notice not found in the pages read", job_id=job.id, step=step)
    return None


def _is_notice(meta: Any, job: Job, step: str) -> bool:
    if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
        return False
    payload = meta.get("event_payload") or {}
    return str(payload.get("job_id")) == str(job.id) and payload.get("step") == step
