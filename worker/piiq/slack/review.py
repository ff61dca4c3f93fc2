"""What people's answers do: the admins' Release / Delete / Mark false positive on a held
message, their ruling on an author's false-positive report, the author's "Not personal
data" (a modal, then a report to the admins) and "I removed it"; and the retention job.

One ``ReviewWorker`` job per interaction (``interactivity``). Admin buttons count only on
the item's own review or report message in the admin channel (a private channel: who is
in it may decide); the author's only from the item's author. A decision is taken once
(``review_store.decide``): a second click finds it taken. Every decision writes an audit
row: who decided and what was done, never text or values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import structlog

from ..queue import Cancel, Job, Result, Worker
from . import audit, holding
from . import review_blocks as rb
from . import review_store as store
from .api import SlackCallFailed
from .context import SlackContext
from .interactivity import SENSITIVE_ARGS, interaction_job
from .jobs import MESSAGE_QUEUE
from .notices import describe_types
from .once import once, post_once
from .siem.outbox import record_and_queue
from .workers import SlackWorker

log = structlog.get_logger("piiq.slack")

Handler = Callable[[Job, SlackContext, dict[str, Any]], Result]


class ReviewWorker(SlackWorker):
    queue = MESSAGE_QUEUE
    sensitive_args = SENSITIVE_ARGS

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        action = str(job.args.get("action_id"))
        handler = HANDLERS.get(action)
        item_id = job.args.get("item_id")
        if handler is None or not isinstance(item_id, int) or job.client is None:
            return Cancel(f"not a piiq review action ({action!r}, item {item_id!r})")
        try:
            found = holding.item(job, item_id)
        except LookupError as exc:
            return Cancel(str(exc))
        if found["team"] != job.args.get("team"):
            return Cancel(f"review item {item_id} belongs to another workspace")
        result = handler(job, ctx, found)
        log.info("review action", job_id=job.id, action=action, item=item_id, by=job.args["user"])
        return result


# The admins -----------------------------------------------------------------------------


def _from_admins(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Cancel | None:
    """Admin buttons count on this item's review or report message in the admin channel."""
    args = job.args
    on_item = args.get("message_ts") in (item.get("review_ts"), item.get("report_ts"))
    if ctx.admin_channel is None or args.get("channel") != ctx.admin_channel or not on_item:
        return Cancel(f"review item {item['id']}: not clicked on its message in the admin channel")
    return None


def _claim(
    job: Job, item: dict[str, Any], decision: str, states: tuple[str, ...]
) -> dict[str, Any] | None:
    assert job.client is not None and job.id is not None, "runs in a worker"
    with job.client.connection() as conn:
        return store.decide(
            conn,
            job.client.prefix,
            item["id"],
            decision=decision,
            by=job.args["user"],
            job_id=job.id,
            from_states=states,
        )


def _decide(
    job: Job,
    ctx: SlackContext,
    item: dict[str, Any],
    decision: str,
    states: tuple[str, ...],
    act: Callable[[dict[str, Any]], str],
) -> Result:
    """An admin's decision: from the admin channel, taken once, then ``act`` on the item
    as claimed; the audit row says who and what was done."""
    refused = _from_admins(job, ctx, item)
    if refused is not None:
        return refused
    claimed = _claim(job, item, decision, states)
    if claimed is None:
        return _already(job, ctx, item)
    done = act(claimed)
    _audit(
        job, ctx, claimed, decision, f"{decision.replace('_', ' ')} by {job.args['user']}; {done}"
    )
    return None


def release(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    return _decide(job, ctx, item, "released", ("held",), lambda held: _release(job, ctx, held))


def _release(job: Job, ctx: SlackContext, item: dict[str, Any]) -> str:
    """Post the kept text back where it was, attributed to its author; remove the
    tombstone; update the review message; delete the kept copy."""
    kind = rb.held_kind(item)
    text = store.kept_text(item, ctx.args_keys)
    if text is None:
        return "nothing to release: the kept copy is gone"
    admin, author = job.args["user"], item["user_id"]
    thread = {"thread_ts": item["thread_ts"]} if item.get("thread_ts") else {}
    note = (
        f"Originally posted by <@{author}> {rb.posted_at(item['ts'])}; held by piiq and "
        f"released after review by <@{admin}>."
    )
    kept = store.kept_file(item, ctx.args_keys)
    if kept is not None:
        once(job, "reposted", lambda: _upload(ctx, item, kept, note, thread), "not reposted")
    else:
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            rb.context(note),
        ]
        once(
            job,
            "reposted",
            lambda: post_once(job, ctx, item["channel"], text, "release", blocks=blocks, **thread),
            "not reposted",
        )
    if item.get("tombstone_ts"):
        once(
            job,
            "tombstone",
            lambda: _remove(ctx, item["channel"], item["tombstone_ts"]),
            "tombstone kept",
        )
    _update_review(
        job,
        ctx,
        item,
        f":white_check_mark: Released by <@{admin}>: {kind} "
        f"{rb.where(item)}, reposted in <#{item['channel']}>.",
    )
    holding.settle(job, item["id"], "released")
    return f"reposted in {item['channel']}"


# What files_upload_v2 calls (their scopes: ``scopes.METHODS``).
UPLOAD_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


def _upload(
    ctx: SlackContext,
    item: dict[str, Any],
    kept: store.KeptFile,
    note: str,
    thread: dict[str, str],
) -> str:
    """The kept file uploaded again into its channel (and thread) by the bot, through
    Slack's upload flow (files_upload_v2: getUploadURLExternal, the bytes, complete)."""
    done = ctx.api.call(
        ctx.api.bot,
        "files.upload_v2",
        filename=kept.name,
        content=kept.data,
        title=kept.title or kept.name,
        channel=item["channel"],
        initial_comment=note,
        **thread,
    )
    return str(done["file"]["id"])


def delete(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    return _decide(job, ctx, item, "deleted", ("held",), lambda held: _delete(job, ctx, held))


def _delete(job: Job, ctx: SlackContext, item: dict[str, Any]) -> str:
    admin = job.args["user"]
    if item.get("tombstone_ts"):
        text = ":wastebasket: A message held for review was removed by an admin."
        once(
            job,
            "tombstone",
            lambda: _update(ctx, item["channel"], item["tombstone_ts"], text),
            "tombstone not updated",
        )
    holding.settle(job, item["id"], "deleted")
    _update_review(
        job,
        ctx,
        item,
        f":wastebasket: Deleted by <@{admin}>: a message {rb.where(item)}; the kept copy is gone.",
    )
    return "kept copy deleted"


def false_positive(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    """Not personal data: its values join the workspace's allow-list; a held message is
    released."""
    states = ("held", "open")
    return _decide(job, ctx, item, "false_positive", states, lambda c: _allow(job, ctx, c))


def _allow(job: Job, ctx: SlackContext, item: dict[str, Any]) -> str:
    assert job.client is not None
    with job.client.connection() as conn:
        store.allow(conn, job.client.prefix, item, job.args["user"])
    steps = [f"{len(item['value_hashes'])} values allow-listed by hash"]
    if item["state"] == "held":
        steps.append(_release(job, ctx, item))
    else:
        _update_review(job, ctx, item, f":white_check_mark: <@{job.args['user']}> ruled it not "
                       "personal data: the same values will not be flagged again here.")  # fmt: skip
    return "; ".join(steps)


def keep_flagged(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    """An admin rules the author's report wrong: nothing changes, the report says so."""
    refused = _from_admins(job, ctx, item)
    if refused is not None:
        return refused
    admin = job.args["user"]
    _update(
        ctx,
        ctx.admin_channel or "",
        job.args["message_ts"],
        f":no_entry: <@{admin}> ruled it personal data: it stays flagged.",
    )
    _audit(job, ctx, item, "report_rejected", f"report ruled personal data by {admin}")
    return None


def _already(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    """A second click, or one after the retention ended: the message says what happened."""
    current = holding.item(job, item["id"])
    said = current.get("decision") or current["state"]
    by = f" by <@{current['decided_by']}>" if current.get("decided_by") else ""
    log.info("review item decided already", job_id=job.id, item=item["id"], state=said)
    _update(
        ctx,
        ctx.admin_channel or "",
        job.args["message_ts"],
        f"Already decided: {said.replace('_', ' ')}{by}.",
    )
    return None


# The author ----------------------------------------------------------------------------


def _from_author(job: Job, item: dict[str, Any]) -> Cancel | None:
    if job.args.get("user") != item["user_id"]:
        return Cancel(f"review item {item['id']}: only its author may answer for it")
    return None


def not_personal_data(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    """Open the justification modal. Its trigger lives 3 s: when it expired on the way
    through the queue, the report goes to the admins without a justification."""
    refused = _from_author(job, item)
    if refused is not None:
        return refused
    try:
        ctx.api.call(
            ctx.api.bot,
            "views.open",
            trigger_id=job.args["trigger_id"],
            view=rb.justification_modal(item["id"]),
        )
    except SlackCallFailed as exc:
        if exc.failure.error not in ("expired_trigger_id", "invalid_trigger_id"):
            raise
        log.warning("modal trigger expired: reporting without a justification", job_id=job.id)
        return _report(job, ctx, item, "")
    return None


def report_submitted(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    refused = _from_author(job, item)
    if refused is not None:
        return refused
    return _report(job, ctx, item, str(job.args.get("justification") or ""))


def _report(job: Job, ctx: SlackContext, item: dict[str, Any], justification: str) -> Result:
    """The author's false-positive report, to the admins; the DM says it went."""
    if ctx.admin_channel is None:
        return Cancel("no admin channel (PIIQ_ADMIN_CHANNEL) to report to")
    found = describe_types(item["entities"])
    text, blocks = rb.report_message(item, found, justification)
    holding.note(job, item["id"], report_ts=holding.tell_admins(job, ctx, "report", text, blocks))
    _update_dm(job, ctx, item, "You said this is not personal data: the admins will decide.")
    said = "with" if justification.strip() else "without"
    _audit(job, ctx, item, "reported_false_positive", f"author reported it, {said} a justification")
    return None


def removed(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    refused = _from_author(job, item)
    if refused is not None:
        return refused
    _update_dm(job, ctx, item, "You said you removed it. Thank you.")
    _audit(job, ctx, item, "author_removed", "author says they removed it")
    return None


def _update_dm(job: Job, ctx: SlackContext, item: dict[str, Any], said: str) -> None:
    """The DM's buttons give way to what the author said."""
    if not (item.get("dm_channel") and item.get("dm_ts")):
        return
    about = f"Your message in <#{item['channel']}> flagged for {describe_types(item['entities'])}"
    blocks = [*rb.decided(about), rb.context(said)]
    once(
        job,
        "dm_updated",
        lambda: _update(ctx, item["dm_channel"], item["dm_ts"], said, blocks),
        "DM not updated",
    )


# Retention -----------------------------------------------------------------------------


def expired(job: Job, ctx: SlackContext, item: dict[str, Any]) -> Result:
    """The retention job deleted the kept copy: the review message says so."""
    days = ctx.settings.review_retention_days
    _update_review(
        job,
        ctx,
        item,
        f":hourglass: Not reviewed within {days:g} days: the kept "
        f"copy of a message {rb.where(item)} was deleted.",
    )
    _audit(job, ctx, item, "expired", f"kept copy deleted after {days:g} days")
    return None


class ExpireHeldWorker(Worker):
    """Hourly (every events worker's crontab has it, ``periodic.with_retention``):
    deletes the kept copies past ``PIIQ_REVIEW_RETENTION_DAYS``, then one job per item
    updates its review message with that workspace's token."""

    queue = MESSAGE_QUEUE

    def perform(self, job: Job) -> Result:
        assert job.client is not None, "runs in a worker, on the queue's database"
        with job.client.connection() as conn:
            gone = store.expire(conn, job.client.prefix)
        if gone:
            job.client.insert_all(
                [
                    interaction_job(
                        {
                            "team": team,
                            "user": "",
                            "trigger_id": f"expiry-{item_id}",
                            "action_id": rb.EXPIRED,
                            "item_id": item_id,
                        }
                    )
                    for item_id, team in gone
                ]
            )
        log.info("held copies expired", count=len(gone))
        return None


# Slack calls and the audit ----------------------------------------------------------------


def _update_review(job: Job, ctx: SlackContext, item: dict[str, Any], text: str) -> None:
    """The review (or report) message loses its buttons and says what was decided."""
    channel = ctx.admin_channel
    if channel is None:
        return
    for key in ("review_ts", "report_ts"):
        if item.get(key):
            once(
                job,
                f"updated_{key}",
                functools.partial(_update, ctx, channel, item[key], text),
                "not updated",
            )


def _update(
    ctx: SlackContext, channel: str, ts: str, text: str, blocks: list[Any] | None = None
) -> str:
    ctx.api.call(
        ctx.api.bot,
        "chat.update",
        channel=channel,
        ts=ts,
        text=text,
        blocks=blocks if blocks is not None else rb.decided(text),
    )
    return "updated"


def _remove(ctx: SlackContext, channel: str, ts: str) -> str:
    ctx.api.call(ctx.api.bot, "chat.delete", channel=channel, ts=ts)  # its own message
    return "removed"


def _audit(job: Job, ctx: SlackContext, item: dict[str, Any], action: str, outcome: str) -> None:
    assert job.client is not None and job.id is not None, "runs in a worker"
    entry = audit.AuditEntry(
        job_id=job.id,
        team=item["team"],
        channel=item["channel"],
        ts=item["ts"],
        user_id=item["user_id"],
        subject=f"review {item['id']}",
        decision=item["action"],
        entities=item["entities"],
        action=action,
        outcome=outcome,
    )
    record_and_queue(job.client, entry, ctx.settings)  # the row and its SIEM deliveries


HANDLERS: dict[str, Handler] = {
    rb.RELEASE: release,
    rb.DELETE: delete,
    rb.FALSE_POSITIVE: false_positive,
    rb.REJECT_REPORT: keep_flagged,
    rb.NOT_PII: not_personal_data,
    rb.NOT_PII_MODAL: report_submitted,
    rb.REMOVED: removed,
    rb.EXPIRED: expired,
}
