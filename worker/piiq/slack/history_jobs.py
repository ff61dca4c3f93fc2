"""The history scan's jobs: one per page of a channel's history or of a thread, unique per
(scan, thread, cursor). Shared by ``piiq scan-history`` (which must not import the
scanning code: Presidio is heavy) and the workers in ``piiq.slack.history``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..queue import Client, Job, Unique
from . import history_store
from .jobs import MAX_ATTEMPTS, WORKSPACE_ARGS

PAGE_WORKER = "piiq.slack.history.HistoryPageWorker"
HISTORY_QUEUE = "default"
# Message jobs of a history scan: after live events (priority 0) in the events queue.
HISTORY_PRIORITY = 5
# Messages per page: Slack suggests at most 200 (internal apps may ask up to 999).
PAGE_SIZE = 200


def start_scans(
    client: Client,
    scans: Sequence[history_store.Scan],
    queue: str,
    page_size: int = 0,
    org: dict[str, Any] | None = None,
) -> list[Job]:
    """Record each scan and insert its first page's job (once: a second start of the same
    scan finds them there). ``org``: on Enterprise Grid, the org's ``WORKSPACE_ARGS``, for
    the workers to find the installation. Returns the first pages' jobs."""
    first = [
        page_job(
            {
                **(org or {}),
                "scan": scan.id,
                "team": scan.team,
                "channel": scan.channel,
                "oldest": str(scan.oldest),
                "latest": str(scan.latest),
                "limit": page_size or PAGE_SIZE,
            },
            queue,
            thread_ts=None,
            cursor="",
        )
        for scan in scans
    ]
    with client.connection() as conn, conn.transaction():
        for scan in scans:
            history_store.start(conn, client.prefix, scan, queue)
        return client.insert_all(first, conn=conn)


def page_name(args: dict[str, Any]) -> str:
    """The page within its scan: the channel's history or a thread's, and the cursor."""
    where = f"replies:{args['thread_ts']}" if args.get("thread_ts") else "history"
    return f"{where}:{args.get('cursor') or 'first'}"


def workspace_of(args: dict[str, Any]) -> dict[str, Any]:
    """The job's workspace: ``team`` and, on Enterprise Grid, the org's fields, which say
    whose installation's tokens the workers use (``SlackContext.for_job``)."""
    return {"team": args["team"], **{k: args[k] for k in WORKSPACE_ARGS if args.get(k)}}


def page_job(base: dict[str, Any], queue: str, *, thread_ts: str | None, cursor: str) -> Job:
    keep = ("scan", "channel", "oldest", "latest", "limit")
    args = {
        **workspace_of(base),
        **{k: base[k] for k in keep},
        "thread_ts": thread_ts,
        "cursor": cursor,
    }
    return Job(
        worker=PAGE_WORKER,
        queue=queue,
        max_attempts=MAX_ATTEMPTS,
        args=args,
        unique=Unique(key=f"history-page:{args['scan']}:{page_name(args)}"),
    ).validate()
