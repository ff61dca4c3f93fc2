"""Acting on a decision: delete, notify, alert, audit; each step once, even across retries.

Every step records itself in the job's meta (``Job.record``) the moment it is done, so a
retried attempt (after a crash, a 429 or a network error) skips it: the author never gets
the same DM twice and nothing is deleted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from ..detect import Decision
from ..queue import Job
from . import audit, notices
from .api import SlackCallFailed
from .context import SlackContext

log = structlog.get_logger("piiq.slack")


@dataclass(frozen=True, slots=True)
class Target:
    """What a decision is about: a message or a file, and how to delete it."""

    audit_subject: str  # "message" or "file F123"
    notice_subject: str  # "your message", "the file report.pdf you shared"
    delete_method: str  # chat.delete or files.delete
    delete_params: dict[str, Any]
    redacted: str | None = None  # the author's text with the findings replaced


def respond(job: Job, ctx: SlackContext, decision: Decision, target: Target) -> dict[str, str]:
    """Carry out ``decision`` about ``target``; returns the action and outcome (for logs)."""
    if ctx.dry_run:
        result = {"action": "reported", "outcome": "dry run: nothing deleted, nobody notified"}
    else:
        deletion = _delete(job, ctx, decision, target)
        deleted = deletion in ("deleted", "already_gone")
        notified = _notify(job, ctx, decision, target, deleted)
        alerted = _alert(job, ctx, decision, target, deletion) if deletion and not deleted else ""
        outcome = "; ".join(step for step in (deletion, notified, alerted) if step)
        result = {"action": "deleted" if deleted else "notified", "outcome": outcome}
    _audit(job, decision, target, **result)
    return result


def _delete(job: Job, ctx: SlackContext, decision: Decision, target: Target) -> str:
    if decision.action != "delete":
        return ""
    if "deletion" in job.meta:
        return str(job.meta["deletion"])
    if ctx.api.admin is None:
        deletion = "not deleted: no admin token (PIIQ_SLACK_ADMIN_TOKEN)"
    else:
        try:
            ctx.api.call(ctx.api.admin, target.delete_method, **target.delete_params)
            deletion = "deleted"
        except SlackCallFailed as exc:
            if exc.failure.kind == "gone":
                deletion = "already_gone"
            elif exc.failure.kind == "not_permitted":
                deletion = f"not deleted: {exc.failure.error}"
            else:
                raise
    job.record(deletion=deletion)
    return deletion


def _alert(job: Job, ctx: SlackContext, decision: Decision, target: Target, why: str) -> str:
    if not ctx.admin_channel:
        return ""
    text = notices.admin_alert(
        subject=target.audit_subject,
        user=job.args["user"],
        channel=job.args["channel"],
        ts=job.args["ts"],
        decision=decision,
        why=why,
    )

    def post() -> str:
        ctx.api.call(ctx.api.bot, "chat.postMessage", channel=ctx.admin_channel, text=text)
        return "admins alerted"

    return _once(job, "alerted", post, "admin alert failed")


def _notify(job: Job, ctx: SlackContext, decision: Decision, target: Target, deleted: bool) -> str:
    text = notices.author_notice(
        subject=target.notice_subject,
        channel=job.args["channel"],
        decision=decision,
        deleted=deleted,
        redacted=target.redacted,
    )

    def send() -> str:
        opened = ctx.api.call(ctx.api.bot, "conversations.open", users=job.args["user"])
        ctx.api.call(ctx.api.bot, "chat.postMessage", channel=opened["channel"]["id"], text=text)
        return "author notified"

    return _once(job, "notified", send, "author not notified")


def _once(job: Job, key: str, step: Callable[[], str], failed: str) -> str:
    """Run ``step`` unless the job recorded ``key`` already, then record what happened. A
    failure a retry may fix (network, 5xx, 429, a token) propagates; one it cannot (the
    user is gone, no permission) is recorded as ``failed: <error>``."""
    if key in job.meta:
        return str(job.meta[key])
    try:
        result = step()
    except SlackCallFailed as exc:
        if exc.failure.kind in ("transient", "rate_limited", "auth"):
            raise
        result = f"{failed}: {exc.failure.error}"
    job.record(**{key: result})
    return result


def _audit(job: Job, decision: Decision, target: Target, *, action: str, outcome: str) -> None:
    if job.client is None or not job.id:
        return  # a unit test's perform_job: no database
    entry = audit.AuditEntry(
        job_id=job.id,
        team=job.args.get("team") or "",
        channel=job.args["channel"],
        ts=job.args["ts"],
        user_id=job.args["user"],
        subject=target.audit_subject,
        decision=decision.action,
        entities=decision.entity_counts,
        action=action,
        outcome=outcome,
    )
    with job.client.connection() as conn:
        audit.record(conn, entry, job.client.prefix)
