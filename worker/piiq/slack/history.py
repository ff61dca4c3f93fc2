"""Scans of the past: a channel's messages over a window, read page by page through the
queue, each message found enqueued as the same scan job a live event makes.

``HistoryPageWorker`` runs one page (one ``conversations.history`` or
``conversations.replies`` call): it enqueues a scan job per message, a page job per thread
found, and the next page's job, and records the page, all in one transaction. Every page
job is unique per (scan, thread, cursor), so starting a scan twice or a second pod changes
nothing; a page job that runs again after a crash finds its page recorded and stops, so
the scan resumes after the last finished page. A 429 snoozes the page for Retry-After,
shared with every worker (``ratelimits``).

A message is scanned once: its job's unique key is the message itself (channel and ts),
and a message that already has a job from a live event is skipped. History jobs run at a
lower priority than live events, so a backfill does not hold up new messages.

``HistoryScanWorker`` starts scans from a job's args: what a PIIQueue's ``spec.cron``
entry runs for a periodic backfill (``{"channels": [...], "since": "1d"}``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from ..queue import Cancel, Client, Discard, Job, Result, parse_duration
from . import history_store
from .api import SlackApi, SlackCallFailed
from .context import SlackContext
from .events import route_message
from .history_jobs import (
    HISTORY_PRIORITY,
    HISTORY_QUEUE,
    PAGE_SIZE,
    page_job,
    page_name,
    start_scans,
    workspace_of,
)
from .jobs import MESSAGE_WORKER, WORKSPACE_ARGS, message_job
from .workers import SlackWorker

log = structlog.get_logger("piiq.slack")


class HistoryPageWorker(SlackWorker):
    """One page of a scan: args ``scan, team, channel, oldest, latest, cursor`` and, for a
    thread, ``thread_ts``; never message text, never a token."""

    queue = HISTORY_QUEUE

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        args = job.args
        client = _client(job)
        page = page_name(args)
        with client.connection() as conn:
            if history_store.page_done(conn, client.prefix, args["scan"], page):
                return None  # a run that committed and then lost its ack
        method, params = _request(args)
        try:
            data = ctx.api.call(ctx.api.bot, method, **params)
        except SlackCallFailed as exc:
            if exc.failure.kind in ("gone", "not_permitted"):
                log.warning("history page not readable", job_id=job.id, error=exc.failure.error)
                return Cancel(f"{exc.failure}: {_ACCESS_FIX}")
            raise  # 429: snoozed; others retried (SlackWorker)
        messages = data.get("messages") or []
        next_cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
        if not data.get("has_more"):
            next_cursor = ""
        counts = self._enqueue(job, client, ctx, messages, next_cursor)
        log.info("history page", job_id=job.id, scan=args["scan"], page=page, **counts)
        return None

    def _enqueue(
        self,
        job: Job,
        client: Client,
        ctx: SlackContext,
        messages: Sequence[dict[str, Any]],
        next_cursor: str,
    ) -> dict[str, int]:
        args = job.args
        channel, thread_ts = args["channel"], args.get("thread_ts")
        found = []
        for message in messages:
            if thread_ts and message.get("ts") == thread_ts:
                continue  # the parent: read with the channel's history
            routing = route_message(message, channel, workspace=workspace_of(args))
            if routing.args is not None:
                found.append(routing.args)
        threads = [] if thread_ts else [m["ts"] for m in messages if _is_thread(m)]
        follow = [page_job(args, job.queue, thread_ts=ts, cursor="") for ts in threads]
        if next_cursor:
            follow.append(page_job(args, job.queue, thread_ts=thread_ts, cursor=next_cursor))
        with client.connection() as conn, conn.transaction():
            seen = history_store.already_scanned(
                conn, client.prefix, MESSAGE_WORKER, channel, [a["ts"] for a in found]
            )
            new = [
                message_job(a, ctx.args_keys, priority=HISTORY_PRIORITY)
                for a in found
                if a["ts"] not in seen
            ]
            inserted = client.insert_all([*new, *follow], conn=conn)
            enqueued = sum(1 for j in inserted[: len(new)] if not j.conflict)
            counts = {  # skipped: had a job already, found before the insert or by its key
                "enqueued": enqueued,
                "skipped": len(found) - enqueued,
                "threads": len(threads),
            }
            history_store.record_page(conn, client.prefix, args["scan"], page_name(args), **counts)
        return counts


class HistoryScanWorker(SlackWorker):
    """Starts a history scan of ``channels`` over the ``since`` before the job was inserted
    (a cron job: at its tick): ``{"channels": ["C0123ABCD"], "since": "1d"}``, and with
    OAuth installs ``team`` (on Enterprise Grid also ``enterprise``, ``enterprise_install``)
    to say whose installation reads them (default: the token's workspace). For a periodic
    backfill through a PIIQueue's ``spec.cron``; ``piiq scan-history`` does the same."""

    queue = HISTORY_QUEUE

    def handle(self, job: Job, ctx: SlackContext) -> Result:
        channels = job.args.get("channels")
        if not isinstance(channels, list) or not channels:
            return Discard('args.channels must list channel ids, e.g. {"channels": ["C0123"]}')
        try:
            since = parse_duration(str(job.args.get("since", "")))
        except ValueError as exc:
            return Discard(f"args.since: {exc}")
        latest = _job_time(job)
        team = str(job.args.get("team") or _team(ctx.api))
        scans = [
            history_store.Scan(team, str(c), int(latest - since), int(latest)) for c in channels
        ]
        exempt = set(ctx.settings.exempt_channels)
        kept = [s for s in scans if s.channel not in exempt]
        org = {k: job.args[k] for k in WORKSPACE_ARGS if job.args.get(k)}
        page_size = int(job.args.get("limit") or 0)
        start_scans(_client(job), kept, job.queue, page_size, org)
        log.info(
            "history scans started",
            job_id=job.id,
            scans=[s.id for s in kept],
            exempt=[s.channel for s in scans if s.channel in exempt],
        )
        return None


_ACCESS_FIX = "the app cannot read this conversation; invite it (/invite @piiq) and scan again"


def _request(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The page's Web API method and its parameters."""
    params: dict[str, Any] = {
        "channel": args["channel"],
        "oldest": args["oldest"],
        "latest": args["latest"],
        "limit": int(args.get("limit") or PAGE_SIZE),
    }
    if args.get("cursor"):
        params["cursor"] = args["cursor"]
    if args.get("thread_ts"):
        return "conversations.replies", {**params, "ts": args["thread_ts"]}
    return "conversations.history", params


def _is_thread(message: dict[str, Any]) -> bool:
    """A thread's parent with replies (Slack marks it with reply_count)."""
    return bool(message.get("reply_count")) and message.get("thread_ts") == message.get("ts")


def _job_time(job: Job) -> float:
    """The moment the scan looks back from: when the job was inserted (a cron job: at its
    tick), the same on every retry; up to the next whole second."""
    when = job.inserted_at or job.scheduled_at or datetime.now(UTC).replace(tzinfo=None)
    return float(math.ceil(when.replace(tzinfo=UTC).timestamp()))


def _team(api: SlackApi) -> str:
    return str(api.call(api.bot, "auth.test")["team_id"])


def _client(job: Job) -> Client:
    if job.client is None:
        raise RuntimeError("a history job needs the queue's client (run it in a worker)")
    client: Client = job.client
    return client
