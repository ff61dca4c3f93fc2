"""A decision's review item (``review_store``) on the worker side: opened before anything
is removed, so a quarantined message's text is kept (encrypted) before it leaves the
channel; then the tombstone in the channel and the admins' review message.

Reviews need ``PIIQ_ARGS_KEYS`` (the kept text is encrypted with them, and the allow-list
hashes are keyed by them): without keys no item is opened and quarantine acts as delete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..detect import Decision
from ..queue import Job
from . import review_blocks as rb
from . import review_store as store
from .context import SlackContext
from .notices import describe_types
from .once import once, post_once

SECONDS_PER_DAY = 86400


@dataclass(frozen=True, slots=True)
class Review:
    """What a decision offers for review: the values' keyed hashes and the message's text,
    or the file's bytes (``file``: None when a file is not kept, so it is not held)."""

    value_hashes: list[dict[str, str]] = field(default_factory=list)
    text: str = ""
    file: store.KeptFile | None = None


def open_item(job: Job, ctx: SlackContext, decision: Decision, review: Review | None) -> int | None:
    """The job's review item (made once; a retry gets the same); None without reviews."""
    if review is None or ctx.args_keys is None or job.client is None or not job.id:
        return None
    if "review_item" in job.meta:
        return int(job.meta["review_item"])
    args = job.args
    new = store.NewItem(
        job_id=job.id,
        team=str(args.get("team") or ""),
        channel=args["channel"],
        ts=args["ts"],
        thread_ts=args.get("thread_ts"),
        user_id=args["user"],
        action=decision.action,
        entities=decision.entity_counts,
        value_hashes=review.value_hashes,
        kept_text=review.text if decision.action == "quarantine" else None,
        kept_file=review.file if decision.action == "quarantine" else None,
    )
    keep = ctx.settings.review_retention_days * SECONDS_PER_DAY
    with job.client.connection() as conn:
        item_id = store.insert(conn, job.client.prefix, new, ctx.args_keys, keep)
    job.record(review_item=item_id)
    return item_id


def item(job: Job, item_id: int) -> dict[str, Any]:
    assert job.client is not None
    with job.client.connection() as conn:
        found = store.get(conn, job.client.prefix, item_id)
    if found is None:
        raise LookupError(f"review item {item_id} is gone")
    return found


def note(job: Job, item_id: int, **where: str | None) -> None:
    assert job.client is not None
    with job.client.connection() as conn:
        store.note(conn, job.client.prefix, item_id, **where)


def settle(job: Job, item_id: int, state: str) -> None:
    assert job.client is not None
    with job.client.connection() as conn:
        store.settle(conn, job.client.prefix, item_id, state)


def announce_hold(
    job: Job, ctx: SlackContext, item_id: int, decision: Decision, removed: bool
) -> str:
    """A held message was removed: the tombstone where it was, the review message for the
    admins. Not removed: there is nothing to hold (the admin alert says why)."""
    if not removed:
        settle(job, item_id, "not_removed")
        return ""
    held = item(job, item_id)
    thread = {"thread_ts": held["thread_ts"]} if held.get("thread_ts") else {}
    tombstone = once(
        job,
        "tombstone_ts",
        lambda: post_once(job, ctx, held["channel"], rb.TOMBSTONE, "tombstone", **thread),
        "tombstone not posted",
    )
    steps = ["held for review"]
    if ctx.admin_channel is None:
        steps.append("no admin channel (PIIQ_ADMIN_CHANNEL): nobody can review it")
        note(job, item_id, tombstone_ts=_ts(tombstone))
        return "; ".join(steps)
    text, blocks = rb.review_message(held, describe_types(decision))
    review = tell_admins(job, ctx, "review", text, blocks)
    note(job, item_id, tombstone_ts=_ts(tombstone), review_ts=review)
    return "; ".join(steps)


def tell_admins(
    job: Job, ctx: SlackContext, step: str, text: str, blocks: list[dict[str, Any]]
) -> str | None:
    """Post to the admin channel once (across retries); its ts, None when it failed."""
    channel = ctx.admin_channel
    assert channel is not None
    posted = once(
        job,
        f"{step}_ts",
        lambda: post_once(job, ctx, channel, text, step, blocks=blocks),
        f"{step} not posted",
    )
    return _ts(posted)


def _ts(step: str) -> str | None:
    """A step's recorded result is a ts, or why it failed."""
    return None if " not posted" in step else step
