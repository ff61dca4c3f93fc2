"""Values admins ruled "not personal data", applied to scans: the workspace's allowed
value hashes join the policy's allow-list for the job (``detect`` stays free of the
database: it is handed the hashes), and each decision's values are hashed the same way
for its review item. Keys are derived from ``PIIQ_ARGS_KEYS``; without them, no hashes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from ..detect.valuehash import value_hash
from ..queue import Job
from . import review_store
from .context import SlackContext

if TYPE_CHECKING:
    from ..detect import Decision, Detector, ScanResult

log = structlog.get_logger("piiq.slack")


def detector_for(job: Job, ctx: SlackContext) -> Detector:
    """The context's detector, allowing the values allowed in the job's workspace."""
    detector = ctx.detector
    if ctx.args_keys is None or job.client is None:
        return detector
    with job.client.connection() as conn:
        hashes = review_store.allowed_hashes(
            conn, job.client.prefix, str(job.args.get("team") or "")
        )
    if not hashes:
        return detector
    keys = ctx.args_keys.derived(review_store.HASH_PURPOSE)
    return detector.with_policy(detector.policy.with_allowed_hashes(hashes, keys))


def value_hashes(result: ScanResult, ctx: SlackContext) -> list[dict[str, str]]:
    """The keyed hash of each value the decision rests on (under the current key)."""
    if ctx.args_keys is None:
        return []
    key_id, key = ctx.args_keys.derived(review_store.HASH_PURPOSE)[0]
    types = set(result.decision.entity_counts)
    hashes: dict[str, str] = {}
    for text, findings in result.readable.values():
        for finding in findings:
            if finding.entity_type in types:
                hashes[value_hash(text[finding.start : finding.end], key_id, key)] = (
                    finding.entity_type
                )
    return [{"type": kind, "hash": digest} for digest, kind in hashes.items()]


def holdable(job: Job, ctx: SlackContext, decision: Decision) -> Decision:
    """Quarantine keeps the content encrypted: without PIIQ_ARGS_KEYS it acts as the
    stricter delete (a file that cannot be kept: ``workers.SlackFileWorker``)."""
    if decision.action != "quarantine" or ctx.args_keys is not None:
        return decision
    return as_delete(job, decision, "PIIQ_ARGS_KEYS is not set")


def as_delete(job: Job, decision: Decision, why: str) -> Decision:
    log.warning("quarantine acts as delete", job_id=job.id, why=why)
    return replace(decision, action="delete")
