"""Steps taken once per job, even across retries: each records itself in the job's meta,
and a notice a retry cannot find recorded is looked for on Slack's side (``posted``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from ..queue import Job, LeaseLost
from . import posted
from .api import SlackCallFailed
from .context import SlackContext

log = structlog.get_logger("piiq.slack")


def post_once(job: Job, ctx: SlackContext, channel: str, text: str, step: str, **extra: Any) -> str:
    """Post ``text`` tagged with the job and step, unless a retried attempt finds that an
    earlier one posted it already (and then could not record it). Returns its ts;
    ``extra`` goes to chat.postMessage as it is (blocks, thread_ts)."""
    if job.attempt > 1:
        ts = posted.find(ctx.api, channel, job, step)
        if ts is not None:
            log.info("notice already sent by an earlier attempt", job_id=job.id, step=step)
            return ts
    meta = posted.metadata(job, step)
    still_running(job)
    answer = ctx.api.call(
        ctx.api.bot, "chat.postMessage", channel=channel, text=text, metadata=meta, **extra
    )
    return str(answer["ts"])


def still_running(job: Job) -> None:
    """Raises LeaseLost when this attempt was given up (timed out): its thread must not
    delete or post, or the author would hear twice (the retry sends its own DM)."""
    if job.given_up is not None:
        raise LeaseLost(f"job {job.id} was given up ({job.given_up}): step not taken")


def once(job: Job, key: str, step: Callable[[], str], failed: str) -> str:
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
