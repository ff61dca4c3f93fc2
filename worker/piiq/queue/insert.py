"""Insert jobs: one statement for any number of jobs, unique conflicts resolved by index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from . import sqlfiles
from .job import Job, JobError, utcnow
from .steps import Steps

MAX_CONFLICT_ROUNDS = 5


class InsertError(RuntimeError):
    """The database refused or lost track of an insert."""


def encode_batch(jobs: Sequence[Job], records: list[list[Any]]) -> str:
    """The batch as one JSON text; a job that is not JSON-serialisable is named."""
    try:
        return json.dumps(records, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        for job in jobs:
            job.check_json()
        raise


def insert_steps(jobs: Sequence[Job], prefix: str, channel: str | None) -> Steps[list[Job]]:
    """Insert ``jobs`` in the caller's transaction; return them in order, as stored.

    A unique job whose key is held by a live row comes back as that row, with
    ``conflict=True``. If the holder leaves its unique states between our insert and our
    read, the job is inserted again (bounded rounds).
    """
    result: list[Job | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    insert_sql = sqlfiles.load("insert_jobs.sql", prefix)
    select_sql = sqlfiles.load("select_unique.sql", prefix)
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


__all__ = ["InsertError", "JobError", "encode_batch", "insert_steps"]
