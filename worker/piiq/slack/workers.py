"""The workers: ``SlackMessageWorker`` scans a message, ``SlackFileWorker`` one shared file.

Files go to their own queue (``pii_detection``) so a slow PDF or an OCR run never holds
up message scanning. Slack's answers become queue outcomes: a 429 snoozes the job for
Retry-After (and, shared through the database, holds the method for every worker until
then: ``ratelimits``), a network error or 5xx retries it with backoff, a rejected token discards it
with an error saying which setting to fix.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import structlog

from ..queue import Discard, Job, Result, Snooze, Unique, Worker
from ..runtime import metrics
from ..runtime.argscrypt import SETTING as ARGS_KEYS_SETTING
from ..runtime.argscrypt import ArgsKeyError, ArgsKeys, ArgsUnreadable, open_args
from ..runtime.settings import Settings
from . import allowlist
from .api import DownloadRefused, SlackCallFailed
from .content import TEXT, message_sources
from .context import SlackContext
from .holding import Review
from .jobs import (
    FILE_QUEUE,
    FILE_SEALED_ARGS,
    FILE_SENSITIVE_ARGS,
    MAX_ATTEMPTS,
    MESSAGE_QUEUE,
    MESSAGE_SENSITIVE_ARGS,
    WORKSPACE_ARGS,
)
from .respond import Target, respond
from .review_store import KeptFile

if TYPE_CHECKING:
    from ..detect import Decision, ScanResult, Source
    from ..filetext import Extraction

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

    def timeout_for(self, job: Job) -> float | None:
        """``PIIQ_SLACK_JOB_TIMEOUT`` (0: none). Past it the attempt fails and is retried:
        a hung Slack call or download must not hold the job's slot forever. The attempt's
        thread runs on until its call returns, but takes no further step (``respond``)."""
        settings = self._context.settings if self._context is not None else Settings()
        return settings.slack_job_timeout or None

    def perform(self, job: Job) -> Result:
        try:
            ctx = self.context
            job.args = open_args(job.args, ctx.args_keys)  # sealed content, decrypted
        except (ArgsUnreadable, ArgsKeyError) as exc:
            return _unreadable(job, exc)
        try:
            return self.handle(job, ctx.for_job(job))
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
        detector = allowlist.detector_for(job, ctx)
        result = detector.scan(sources)
        decision = allowlist.holdable(job, ctx, result.decision)
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
            review=Review(allowlist.value_hashes(result, ctx), str(args.get("text") or "")),
        )
        done = respond(job, ctx, decision, target)
        _log_decision(job, "message", decision.action, decision.entity_counts, **done)
        return None


class SlackFileWorker(SlackWorker):
    """One shared file: its name, title and text are scanned. A file that could not be
    (fully) read is never passed as clean: the policy's ``unscannable`` setting decides
    (see ``piiq.filetext.verdict``). A file owned by someone else than the sharer, or
    shared in an exempt channel, is not deleted workspace-wide: only this share is."""

    queue = FILE_QUEUE
    sensitive_args = FILE_SENSITIVE_ARGS

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        from ..filetext import verdict as fv

        file_id = job.args["file_id"]
        subject = f"file {file_id}"
        try:
            info = ctx.api.call(ctx.api.bot, "files.info", file=file_id)["file"]
        except SlackCallFailed as exc:
            if exc.failure.kind != "gone":
                raise
            _log_skipped(job, subject, exc.failure.error)  # deleted already: nothing to check
            return None
        started = time.monotonic()
        read = _file_text(job, ctx, info)
        if read is None:
            return None
        extraction, data = read
        detector = allowlist.detector_for(job, ctx)
        names = _name_sources(subject, info, job.args["file"])
        deadline = max(started + fv.FILE_SECONDS, time.monotonic() + fv.DETECT_MIN_SECONDS)
        result, note = fv.scan_within(detector, names, extraction.text, subject, deadline)
        result.decision = allowlist.holdable(job, ctx, result.decision)
        coverage, why = fv.with_note(extraction.status, extraction.summary, note)
        verdict = fv.file_verdict(
            result.decision.action, coverage, why, detector.policy.unscannable
        )
        if verdict.action == "allow":
            _log_decision(job, subject, "allow", {})
            return None
        if verdict.unchecked:
            log.info(
                "not fully scanned", job_id=job.id, subject=subject, coverage=coverage, reason=why
            )
        decision = replace(result.decision, action=verdict.action)
        # The name as the DM quotes it: the original, redacted at the offsets found in its
        # word form (the same length).
        _, name_findings = result.readable_findings(names[0].name)
        original = str(info.get("name") or job.args["file"].get("name") or "")
        shown = detector.redact(original, name_findings, result.decision)
        removing = decision.action in ("delete", "quarantine")
        target = _file_target(job, ctx, info, file_id, shown, removing)
        if decision.action == "quarantine":
            decision, target = _held_file(job, ctx, decision, target, info, data, result)
        if verdict.unchecked:
            target = replace(
                target,
                unread=f"{coverage.replace('_', ' ')}: {why}",
                audit_decision=coverage,
                alert="" if verdict.alert_admins else target.alert,
            )
        done = respond(job, ctx, decision, target)
        _log_decision(job, subject, verdict.outcome, decision.entity_counts, **done)
        return None


def _held_file(
    job: Job,
    ctx: SlackContext,
    decision: Decision,
    target: Target,
    info: dict[str, Any],
    data: bytes | None,
    result: ScanResult,
) -> tuple[Decision, Target]:
    """A quarantined file is kept (encrypted, in its review item) when piiq has its bytes
    and may delete it everywhere; else quarantine fails closed: it acts as delete."""
    if data is None:
        return allowlist.as_delete(job, decision, "the file was not read: no copy to keep"), target
    if target.delete_method != "files.delete":
        return allowlist.as_delete(job, decision, "only the share is removed: no copy kept"), target
    kept = KeptFile(
        name=str(info.get("name") or job.args["file"].get("name") or "file"),
        title=str(info.get("title") or ""),
        mimetype=str(info.get("mimetype") or ""),
        data=data,
    )
    return decision, replace(target, review=Review(allowlist.value_hashes(result, ctx), file=kept))


def _file_text(
    job: Job, ctx: SlackContext, info: dict[str, Any]
) -> tuple[Extraction, bytes | None] | None:
    """The file's text, or why there is none, and its bytes when they were read (at most
    ``PIIQ_MAX_FILE_BYTES``); None when the file is gone."""
    from ..filetext import Limits, extract_text
    from ..filetext.extract import not_scanned
    from ..filetext.sniff import by_extension

    name = str(info.get("name") or job.args["file"].get("name") or "")
    kind = by_extension(name)
    size = int(info.get("size") or 0)
    if info.get("is_external"):
        return not_scanned(name, kind, "hosted outside Slack (an external file)"), None
    if size > ctx.max_file_bytes:
        too_large = f"too large: {size:,} bytes (limit {ctx.max_file_bytes:,})"
        return not_scanned(name, kind, too_large), None
    url = info.get("url_private_download") or info.get("url_private")
    try:
        data = ctx.api.download(url, ctx.max_file_bytes, info.get("mimetype") or "")
    except DownloadRefused as exc:
        return not_scanned(name, kind, str(exc)), None
    except SlackCallFailed as exc:
        if exc.failure.kind == "gone":
            _log_skipped(job, f"file {job.args['file_id']}", exc.failure.error)
            return None
        if exc.failure.kind not in ("not_permitted", "unreachable"):
            raise
        return not_scanned(name, kind, f"could not be downloaded ({exc.failure.error})"), None
    return extract_text(name, data, Limits(max_bytes=ctx.max_file_bytes)), data


def _name_sources(subject: str, info: dict[str, Any], shared: dict[str, Any]) -> list[Source]:
    """The file's name (first: the DM quotes it) and its title: people write in them too."""
    from ..detect import Source

    name = str(info.get("name") or shared.get("name") or "")
    title = str(info.get("title") or "")
    sources = [Source(f"{subject} name", _as_words(name), slack_markup=False)]
    if title and title != name:
        sources.append(Source(f"{subject} title", _as_words(title), slack_markup=False))
    return sources


_NAME_JOINER = re.compile(r"(?<=[^\W\d_])[-_.](?=\d)|(?<=\d)[-_.](?=[^\W\d_])")


def _as_words(name: str) -> str:
    """A file name read as a person would: "card-4556-...-9855.txt" holds a card number.
    A separator between a letter and a digit becomes a space (same length, so the
    offsets the DM's redaction uses still fit the name)."""
    return _NAME_JOINER.sub(" ", name)


def _file_target(
    job: Job, ctx: SlackContext, info: dict[str, Any], file_id: str, name: str, deleting: bool
) -> Target:
    """files.delete removes a file everywhere: only when the sharer owns it and no channel
    it is in is exempt. Otherwise only this share (the message) goes, and admins hear."""
    kept = _why_keep_file(job, ctx, info) if deleting else ""
    if kept:
        return Target(
            audit_subject=f"file {file_id}",
            notice_subject=f"your message sharing the file {name}",
            delete_method="chat.delete",
            delete_params={"channel": job.args["channel"], "ts": job.args["ts"]},
            alert=f"the file itself was kept: {kept}",
        )
    return Target(
        audit_subject=f"file {file_id}",
        notice_subject=f"the file {name} you shared",
        delete_method="files.delete",
        delete_params={"file": file_id},
    )


def _why_keep_file(job: Job, ctx: SlackContext, info: dict[str, Any]) -> str:
    owner = info.get("user")
    if owner and owner != job.args.get("user"):
        return f"it belongs to <@{owner}>, who did not share it here"
    shares = info.get("shares") or {}
    channels = {
        *(info.get("channels") or []),
        *(info.get("groups") or []),
        *(shares.get("public") or {}),
        *(shares.get("private") or {}),
    }
    exempt = sorted(channels & set(ctx.settings.exempt_channels))
    if exempt:
        return "it is shared in the exempt channel " + ", ".join(f"<#{c}>" for c in exempt)
    return ""


def _queue_files(job: Job, keys: ArgsKeys | None) -> None:
    """One file job per shared file, once: the key is the event and the file. With keys,
    the file's name and type are sealed in the job as the message's content is."""
    files = job.args.get("files") or []
    if not files or job.client is None or "files_queued" in job.meta:
        return
    keep = ("team", "channel", "user", "ts", "thread_ts", "event_id")
    base = {k: job.args.get(k) for k in keep}
    base |= {k: job.args[k] for k in WORKSPACE_ARGS if job.args.get(k)}
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
        if failure.held:  # another worker's 429: this one did not call
            log.info("slack call held", job_id=job.id, method=failure.method, snooze_s=wait)
        else:
            log.warning("slack rate limited", job_id=job.id, method=failure.method, snooze_s=wait)
        return Snooze(wait)
    if failure.kind == "auth":
        log.error("slack token rejected", job_id=job.id, method=failure.method, error=failure.error)
        return Discard(f"{failure}: {_token_fix(job, failure.method)}")
    raise exc  # network errors, 5xx, fatal_error: retry with backoff


_TOKEN_SETTING = {
    "chat.delete": "PIIQ_SLACK_ADMIN_TOKEN",
    "files.delete": "PIIQ_SLACK_ADMIN_TOKEN",
}


def _token_fix(job: Job, method: str) -> str:
    """What to do about a token Slack refused, or one that is not there."""
    where = f"workspace {job.args.get('team') or '?'}"
    if job.args.get("enterprise"):
        where += f" of org {job.args['enterprise']}"
    if method == "installation":
        return (
            f"no installation for {where} and no PIIQ_SLACK_BOT_TOKEN: install the app there "
            "through /slack/install"
        )
    if method == "oauth.v2.access":
        return f"the tokens of {where} could not be refreshed; reinstall the app there"
    setting = _TOKEN_SETTING.get(method, "PIIQ_SLACK_BOT_TOKEN")
    return f"Slack rejected the token; check {setting} (or the installation of {where}) and reinstall the app"


def _log_decision(
    job: Job, subject: str, decision: str, entities: dict[str, int], **done: Any
) -> None:
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
