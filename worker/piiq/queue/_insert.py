"""Insert jobs: one statement for any number of jobs, unique conflicts resolved by index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from . import _sqlfiles
from ._job import Job, utcnow
from ._steps import CopyRows, Steps

MAX_CONFLICT_ROUNDS = 5
_JSON = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # built once: dumps() with
# options builds an encoder per call, which dominated bulk inserts
COPY_THRESHOLD = 64  # from this many jobs (none unique), COPY beats one INSERT ... SELECT


class InsertError(RuntimeError):
    """The database refused or lost track of an insert."""


def encode_batch(jobs: Sequence[Job], records: list[list[Any]]) -> str:
    """The batch as one JSON text; a job that is not JSON-serialisable is named."""
    try:
        return _JSON.encode(records)
    except (TypeError, ValueError):
        for job in jobs:
            job.check_json()
        raise


def uses_copy(jobs: Sequence[Job]) -> bool:
    """Whether ``insert_steps`` will COPY (several statements: run it in a transaction)."""
    return len(jobs) >= COPY_THRESHOLD and all(job.unique is None for job in jobs)


def insert_steps(jobs: Sequence[Job], prefix: str, channel: str | None) -> Steps[list[Job]]:
    """Insert ``jobs``; see ``copy_steps`` and ``statement_steps``."""
    if uses_copy(jobs):
        return copy_steps(jobs, prefix, channel)
    return statement_steps(jobs, prefix, channel)


def copy_steps(jobs: Sequence[Job], prefix: str, channel: str | None) -> Steps[list[Job]]:
    """Many plain jobs: reserve ids, stream the rows with COPY, notify the queues.

    About twice as fast as the INSERT ... SELECT for thousands of jobs; the caller runs
    it in one transaction so the jobs appear (and notify) together or not at all.
    """
    ((ids, now),) = yield _sqlfiles.load("reserve_ids.sql", prefix), {"count": len(jobs)}
    now_rows: list[tuple[Any, ...]] = []
    later_rows: list[tuple[Any, ...]] = []
    for job, job_id in zip(jobs, ids, strict=True):
        scheduled = job.scheduled_at is not None and job.scheduled_at > now
        job.id, job.inserted_at = job_id, now
        job.state = "scheduled" if scheduled else "available"
        try:
            args = _JSON.encode(job.args)
            meta = _JSON.encode(job.meta) if job.meta else "{}"
        except (TypeError, ValueError):
            job.check_json()
            raise
        tags = list(job.tags) if job.tags else "{}"
        row = (job_id, job.state, job.queue, job.worker, args, meta, tags, job.max_attempts,
               job.priority)  # fmt: skip
        if scheduled:
            later_rows.append((*row, job.scheduled_at))
        else:
            job.scheduled_at = now
            now_rows.append(row)
    if now_rows:
        yield CopyRows(_sqlfiles.load("copy_jobs.sql", prefix), now_rows)
    if later_rows:
        yield CopyRows(_sqlfiles.load("copy_scheduled_jobs.sql", prefix), later_rows)
    queues = sorted({job.queue for job in jobs if job.state == "available"})
    if channel is not None and queues:
        yield _sqlfiles.load("notify_queues.sql", prefix), {"channel": channel, "queues": queues}
    return list(jobs)


def statement_steps(jobs: Sequence[Job], prefix: str, channel: str | None) -> Steps[list[Job]]:
    """Insert ``jobs`` in the caller's transaction; return them in order, as stored.

    A unique job whose key is held by a live row comes back as that row, with
    ``conflict=True``. If the holder leaves its unique states between our insert and our
    read, the job is inserted again (bounded rounds).
    """
    result: list[Job | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    insert_sql = _sqlfiles.load("insert_jobs.sql", prefix)
    select_sql = _sqlfiles.load("select_unique.sql", prefix)
    for _ in range(MAX_CONFLICT_ROUNDS):
        now = utcnow()
        batch = [jobs[i] for i in pending]
        payload = encode_batch(batch, [job.insert_record(now) for job in batch])
        rows = yield insert_sql, {"jobs": payload, "channel": channel}
        conflicts: dict[str, list[int]] = {}
        seen_keys: set[str] = set()
        cursor = 0
        for index, job in zip(pending, batch, strict=True):
            key = job.unique_key
            row = rows[cursor] if cursor < len(rows) else None
            if row is not None and (key is None or (row[4] == key and key not in seen_keys)):
                job.id, job.state, job.inserted_at, job.scheduled_at = row[:4]
                result[index] = job
                cursor += 1
                if key is not None:
                    seen_keys.add(key)
            elif key is None:
                raise InsertError("the database returned fewer rows than jobs inserted")
            else:
                conflicts.setdefault(key, []).append(index)
        if cursor != len(rows):
            raise InsertError("could not match inserted rows to jobs; nothing was inserted")
        if not conflicts:
            break
        existing = yield select_sql, {"keys": list(conflicts)}
        by_key = {row[16]["uniq_key"]: row for row in existing}
        pending = []
        for key, indexes in conflicts.items():
            row = by_key.get(key)
            for index in indexes:
                if row is None:
                    pending.append(index)
                else:
                    job = Job.from_row(row)
                    job.conflict = True
                    result[index] = job
        if not pending:
            break
        pending.sort()
    else:
        raise InsertError(
            f"unique jobs kept conflicting after {MAX_CONFLICT_ROUNDS} rounds; try again"
        )
    return [job for job in result if job is not None]
