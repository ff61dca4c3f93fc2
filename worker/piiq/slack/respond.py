"""Acting on a decision: delete, notify, alert, audit; each step once, even across retries.

Every step records itself in the job's meta (``Job.record``) the moment it is done, so a
retried attempt (after a crash, a 429 or a network error) skips it: the author never gets
the same DM twice and nothing is deleted twice. A step done whose record then failed is
found again on Slack's side: a second delete gets "already gone", and a retried attempt
looks for its own DM or alert (message metadata, ``posted``) before it posts.

An attempt that ran past its timeout is given up, but its thread runs on until its Slack
call returns (Python cannot stop a thread): it then takes no further step, and writes its
audit row only when the attempt that replaced it has not written one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import structlog

from ..detect import Decision
from ..queue import Job, LeaseLost
from . import audit, holding, notices, review_blocks
from .api import SlackCallFailed
from .context import SlackContext
from .once import once as _once
from .once import post_once as _post_once
from .once import still_running as _still_running
from .siem.outbox import record_and_queue

log = structlog.get_logger("piiq.slack")


@dataclass(frozen=True, slots=True)
class Target:
    """What a decision is about: a message or a file, and how to delete it."""

    audit_subject: str  # "message" or "file F123"
    notice_subject: str  # "your message", "the file report.pdf you shared"
    delete_method: str  # chat.delete or files.delete
    delete_params: dict[str, Any]
    redacted: str | None = None  # the author's text with the findings replaced
    # A file that could not be (fully) checked: why, in words (its notices say so) and
    # the audit row's decision ("not_scanned", "partly_scanned").
    unread: str | None = None
    audit_decision: str | None = None
    # Tell the admin channel even when every step worked, and why ("" for no more).
    alert: str | None = None
    # A message's review: value hashes and text (a file has none: it is not reviewed).
    review: holding.Review | None = None


def respond(job: Job, ctx: SlackContext, decision: Decision, target: Target) -> dict[str, str]:
    """Carry out ``decision`` about ``target``; returns the action and outcome (for logs).

    The audit row is written even when a step fails (with what was done so far), and
    rewritten by the retry that finishes the job.
    """
    if ctx.dry_run:
        action, outcome = "reported", "dry run: nothing deleted, nobody notified"
        _audit(job, ctx, decision, target, action=action, outcome=outcome)
        return {"action": action, "outcome": outcome}
    steps: list[str] = []
    deleted = False
    try:
        item = holding.open_item(job, ctx, decision, target.review)  # before the removal
        deletion = _delete(job, ctx, decision, target)
        deleted = deletion in ("deleted", "already_gone")
        held = decision.action == "quarantine" and item is not None
        steps.append("removed from the channel" if held and deletion == "deleted" else deletion)
        if held and item is not None:
            steps.append(holding.announce_hold(job, ctx, item, decision, deleted))
        steps.append(_notify(job, ctx, decision, target, deleted, item))
        if deletion and not deleted:
            steps.append(_alert(job, ctx, decision, target, deletion, deleted))
        elif target.alert is not None:
            steps.append(_alert(job, ctx, decision, target, target.alert, deleted))
    except BaseException as exc:
        steps.append("unfinished: the job retries")
        outcome = _joined(steps)
        # A lost lease (timed out, rescued): the row of the attempt that took over stays.
        replace = not isinstance(exc, LeaseLost)
        with contextlib.suppress(Exception):  # logged inside; the step's error goes on up
            action = _action(decision, deleted)
            _audit(job, ctx, decision, target, action=action, outcome=outcome, replace=replace)
        raise
    action, outcome = _action(decision, deleted), _joined(steps)
    _audit(job, ctx, decision, target, action=action, outcome=outcome)
    return {"action": action, "outcome": outcome}


def _action(decision: Decision, deleted: bool) -> str:
    if deleted:
        return "held" if decision.action == "quarantine" else "deleted"
    return "notified"


def _joined(steps: list[str]) -> str:
    return "; ".join(step for step in steps if step) or "nothing done"


def _delete(job: Job, ctx: SlackContext, decision: Decision, target: Target) -> str:
    if decision.action not in ("delete", "quarantine"):  # quarantine: removed, a copy kept
        return ""
    if "deletion" in job.meta:
        return str(job.meta["deletion"])
    if ctx.api.admin is None:
        deletion = "not deleted: no admin token (PIIQ_SLACK_ADMIN_TOKEN)"
    else:
        try:
            _still_running(job)
            ctx.api.call(ctx.api.admin, target.delete_method, **target.delete_params)
            deletion = "deleted"
        except SlackCallFailed as exc:
            if exc.failure.kind == "gone":
                deletion = "already_gone"
            elif exc.failure.kind == "not_permitted":
                deletion = f"not deleted: {exc.failure.error}"
            elif exc.failure.kind == "auth":  # the author must still hear: fall back to the DM
                log.error(
                    "slack token rejected", method=target.delete_method, error=exc.failure.error
                )
                deletion = (
                    f"not deleted: admin token rejected ({exc.failure.error}); "
                    "check PIIQ_SLACK_ADMIN_TOKEN"
                )
            else:
                raise
    job.record(deletion=deletion)
    return deletion


def _alert(
    job: Job, ctx: SlackContext, decision: Decision, target: Target, why: str, deleted: bool
) -> str:
    if not ctx.admin_channel:
        return ""
    text = notices.admin_alert(
        subject=target.audit_subject,
        user=job.args["user"],
        channel=job.args["channel"],
        ts=job.args["ts"],
        decision=decision,
        why=why,
        unread=target.unread,
        deleted=deleted,
    )

    def post() -> str:
        assert ctx.admin_channel is not None
        _post_once(job, ctx, ctx.admin_channel, text, "alerted")
        return "admins alerted"

    return _once(job, "alerted", post, "admin alert failed")


def _notify(
    job: Job,
    ctx: SlackContext,
    decision: Decision,
    target: Target,
    deleted: bool,
    item: int | None = None,
) -> str:
    """The author's DM; with a review item (and admins to answer), with its buttons."""
    text = notices.author_notice(
        subject=target.notice_subject,
        channel=job.args["channel"],
        decision=decision,
        deleted=deleted,
        redacted=target.redacted,
        unread=target.unread,
    )

    answerable = item is not None and ctx.admin_channel is not None
    extra = {"blocks": review_blocks.author_buttons(text, item)} if answerable and item else {}

    def send() -> str:
        opened = ctx.api.call(ctx.api.bot, "conversations.open", users=job.args["user"])
        dm = opened["channel"]["id"]
        ts = _post_once(job, ctx, dm, text, "notified", **extra)
        if item is not None:
            holding.note(job, item, dm_channel=dm, dm_ts=ts)
        return "author notified"

    return _once(job, "notified", send, "author not notified")


def _audit(
    job: Job,
    ctx: SlackContext,
    decision: Decision,
    target: Target,
    *,
    action: str,
    outcome: str,
    replace: bool = True,
) -> None:
    if job.client is None or not job.id:
        return  # a unit test's perform_job: no database
    entry = audit.AuditEntry(
        job_id=job.id,
        team=job.args.get("team") or "",
        channel=job.args["channel"],
        ts=job.args["ts"],
        user_id=job.args["user"],
        subject=target.audit_subject,
        decision=target.audit_decision or decision.action,
        entities=decision.entity_counts,
        action=action,
        outcome=outcome,
    )
    try:  # the row and its deliveries to the SIEM sinks (PIIQ_AUDIT_*) in one transaction
        record_and_queue(job.client, entry, ctx.settings, replace=replace)
    except Exception as exc:  # the Slack step's own error matters more; a retry rewrites it
        log.error("audit write failed", job_id=job.id, error=type(exc).__name__)
        raise
