"""The workers: ``SlackMessageWorker`` scans a message, ``SlackFileWorker`` one shared file.

Files go to their own queue (``pii_detection``) so a slow PDF or an OCR run never holds
up message scanning. Slack's answers become queue outcomes: a 429 snoozes the job for
Retry-After, a network error or 5xx retries it with backoff, a rejected token discards it
with an error saying which setting to fix.
"""

from __future__ import annotations

import random
import traceback
from typing import Any

import structlog

from .. import metrics
from ..argscrypt import SETTING as ARGS_KEYS_SETTING
from ..argscrypt import ArgsKeyError, ArgsKeys, ArgsUnreadable, open_args
from ..queue import Discard, Job, Result, Snooze, Unique, Worker
from .api import DownloadRefused, SlackCallFailed
from .content import TEXT, message_sources
from .context import SlackContext
from .jobs import (
    FILE_QUEUE,
    FILE_SEALED_ARGS,
    FILE_SENSITIVE_ARGS,
    MAX_ATTEMPTS,
    MESSAGE_QUEUE,
    MESSAGE_SENSITIVE_ARGS,
)
from .respond import Target, respond

log = structlog.get_logger("piiq.slack")

# A job whose args cannot be decrypted here waits for the key (it is not failed, so it is
# not lost): it is tried again this often, with a loud log line each time.
UNREADABLE_SNOOZE_S = 300.0


class SlackWorker(Worker):
    """Shared by both workers: the context, built on first use, and Slack error mapping."""

    max_attempts = MAX_ATTEMPTS

    def __init__(self, context: SlackContext | None = None) -> None:
        self._context = context

    @property
    def context(self) -> SlackContext:
        if self._context is None:
            self._context = SlackContext.from_settings()
        return self._context

    def perform(self, job: Job) -> Result:
        try:
            ctx = self.context
            job.args = open_args(job.args, ctx.args_keys)  # sealed content, decrypted
        except (ArgsUnreadable, ArgsKeyError) as exc:
            return _unreadable(job, exc)
        try:
            return self.handle(job, ctx)
        except SlackCallFailed as exc:
            return _slack_outcome(job, exc)

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        raise NotImplementedError

    def describe_error(self, exc: BaseException) -> str:
        """Where the error happened, never its message: a parser or a library may quote the
        message or file text in it (reprs escape newlines, so scrubbing the args misses it).
        Slack call failures are safe to keep whole: the method and Slack's error code."""
        where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
        if isinstance(exc, SlackCallFailed):
            return f"{where}\nSlackCallFailed: {exc}"
        return f"{where}\n{type(exc).__name__} (message withheld: it may quote personal data)"


class SlackMessageWorker(SlackWorker):
    queue = MESSAGE_QUEUE
    sensitive_args = MESSAGE_SENSITIVE_ARGS

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        args = job.args
        _queue_files(job, ctx.args_keys)
        sources = message_sources(args)
        if not sources:
            return None
        detector = ctx.detector
        result = detector.scan(sources)
        decision = result.decision
        if decision.action == "allow":
            _log_decision(job, "message", decision.action, {})
            return None
        redacted = "\n".join(detector.redacted(result, s.name) for s in sources)
        target = Target(
            audit_subject="message",
            notice_subject="your edited message" if args.get("edited") else "your message",
            delete_method="chat.delete",
            delete_params={"channel": args["channel"], "ts": args["ts"]},
            redacted=redacted if sources[0].name == TEXT else None,
        )
        done = respond(job, ctx, decision, target)
        _log_decision(job, "message", decision.action, decision.entity_counts, **done)
        return None


class SlackFileWorker(SlackWorker):
    queue = FILE_QUEUE
    sensitive_args = FILE_SENSITIVE_ARGS

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        from ..detect import Source
        from ..detect.files import Limits, extract_text

        file_id, file = job.args["file_id"], job.args["file"]
        subject = f"file {file_id}"
        try:
            info = ctx.api.call(ctx.api.bot, "files.info", file=file_id)["file"]
        except SlackCallFailed as exc:
            if exc.failure.kind != "gone":
                raise
            _log_skipped(job, subject, exc.failure.error)
            return None
        size = int(info.get("size") or 0)
        if info.get("is_external"):
            _log_skipped(job, subject, "an external file (hosted outside Slack)")
            return None
        if size > ctx.max_file_bytes:
            _log_skipped(job, subject, f"larger than the {ctx.max_file_bytes:,}-byte limit")
            return None
        url = info.get("url_private_download") or info.get("url_private")
        try:
            data = ctx.api.download(url, ctx.max_file_bytes, info.get("mimetype") or "")
        except DownloadRefused as exc:
            _log_skipped(job, subject, str(exc))
            return None
        except SlackCallFailed as exc:
            if exc.failure.kind not in ("gone", "not_permitted", "unreachable"):
                raise
            _log_skipped(job, subject, exc.failure.error)
            return None
        extraction = extract_text(file["name"], data, Limits(max_bytes=ctx.max_file_bytes))
        if extraction.status != "scanned":
            _log_skipped(job, subject, extraction.reason)
            return None
        decision = ctx.detector.scan(
            [Source(subject, extraction.text, slack_markup=False)]
        ).decision
        if decision.action == "allow":
            _log_decision(job, subject, decision.action, {})
            return None
        target = Target(
            audit_subject=subject,
            notice_subject=f"the file {file['name']} you shared",
            delete_method="files.delete",
            delete_params={"file": file_id},
        )
        done = respond(job, ctx, decision, target)
        _log_decision(job, subject, decision.action, decision.entity_counts, **done)
        return None


def _queue_files(job: Job, keys: ArgsKeys | None) -> None:
    """One file job per shared file, once: the key is the event and the file. With keys,
    the file's name and type are sealed in the job as the message's content is."""
    files = job.args.get("files") or []
    if not files or job.client is None or "files_queued" in job.meta:
        return
    keep = ("team", "channel", "user", "ts", "thread_ts", "event_id")
    base = {k: job.args.get(k) for k in keep}
    job.client.insert_all(
        [
            SlackFileWorker.new(
                _sealed({**base, "file_id": f["id"], "file": f}, keys),
                # Per message and file, not per event: an edit re-sends the same files.
                unique=Unique(
                    key=f"slack-file:{base['team']}:{base['channel']}:{base['ts']}:{f['id']}"
                ),
            )
            for f in files
        ]
    )
    job.record(files_queued=len(files))


def _sealed(args: dict[str, Any], keys: ArgsKeys | None) -> dict[str, Any]:
    return keys.seal(args, FILE_SEALED_ARGS) if keys else args


def _unreadable(job: Job, exc: Exception) -> Result:
    key_id = getattr(exc, "key_id", None)
    log.error(
        "job args cannot be decrypted: the job waits for the key",
        job_id=job.id,
        key_id=key_id,
        setting=ARGS_KEYS_SETTING,
        snooze_s=UNREADABLE_SNOOZE_S,
        error=str(exc),
    )
    return Snooze(UNREADABLE_SNOOZE_S)


def _slack_outcome(job: Job, exc: SlackCallFailed) -> Result:
    failure = exc.failure
    if failure.kind == "rate_limited":
        wait = failure.retry_after + random.uniform(0, 1)  # spread the herd
        log.warning("slack rate limited", job_id=job.id, method=failure.method, snooze_s=wait)
        return Snooze(wait)
    if failure.kind == "auth":
        setting = _TOKEN_SETTING.get(failure.method, "PIIQ_SLACK_BOT_TOKEN")
        log.error("slack token rejected", job_id=job.id, method=failure.method, error=failure.error)
        return Discard(
            f"{failure}: Slack rejected the token; check {setting} and reinstall the app"
        )
    raise exc  # network errors, 5xx, fatal_error: retry with backoff


_TOKEN_SETTING = {
    "chat.delete": "PIIQ_SLACK_ADMIN_TOKEN",
    "files.delete": "PIIQ_SLACK_ADMIN_TOKEN",
}


def _log_decision(job: Job, subject: str, decision: str, entities: dict[str, int], **done: Any):
    metrics.observe_decision(decision, entities)
    log.info(
        "decision",
        job_id=job.id,
        channel=job.args.get("channel"),
        ts=job.args.get("ts"),
        subject=subject,
        decision=decision,
        entities=entities,
        **done,
    )


def _log_skipped(job: Job, subject: str, reason: str) -> None:
    log.info("not scanned", job_id=job.id, subject=subject, reason=reason)
