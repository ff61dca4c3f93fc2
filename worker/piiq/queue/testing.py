"""Oban.Testing for Python: perform_job, assert_enqueued, refute_enqueued, all_enqueued,
drain_queue. Use them with a client in ``manual`` testing mode, or through the pytest
plugin's ``queue_testing`` fixture.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg.types.json import Jsonb

from . import _sqlfiles
from ._client import Client
from ._execution import perform_now, perform_to_outcome
from ._job import Job, JobError, leased_jobs
from ._outcome import ack_params
from ._worker import Worker, resolve_worker

ENQUEUED_STATES = ("available", "scheduled")


def perform_job(
    worker: type[Worker] | str,
    args: Mapping[str, Any] | None = None,
    *,
    attempt: int = 1,
    **options: Any,
) -> Any:
    """Run ``worker.perform`` on a job built from ``args``, without the database.

    Checks first that the args survive a JSON round trip unchanged (as they must to be
    stored), then returns what perform returned. Exceptions propagate, as in a unit test.
    """
    worker_class = resolve_worker(worker) if isinstance(worker, str) else worker
    job = worker_class.new(args or {}, **options)
    round_tripped = json.loads(json.dumps(job.args))
    if round_tripped != job.args:
        raise JobError(
            f"args {job.args!r} change when stored as JSON (became {round_tripped!r}): "
            "use strings for keys and JSON types for values"
        )
    job.args = round_tripped
    job.id, job.attempt, job.state = 0, attempt, "executing"
    result = perform_now(worker_class(), job)
    if isinstance(result, BaseException):
        raise result
    return result


class Testing:
    """Assertions and draining over the jobs table of ``client``'s prefix."""

    __test__ = False  # not a pytest test class

    def __init__(self, client: Client) -> None:
        self.client = client

    def all_enqueued(
        self,
        *,
        worker: type[Worker] | str | None = None,
        queue: str | None = None,
        args: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        priority: int | None = None,
        tags: Iterable[str] | None = None,
        states: Iterable[str] = ENQUEUED_STATES,
    ) -> list[Job]:
        """Enqueued jobs matching every given filter (args and meta match partially)."""
        name = worker if isinstance(worker, str) or worker is None else worker.name
        params = {
            "states": list(states),
            "worker": name,
            "queue": queue,
            "args": Jsonb(dict(args)) if args is not None else None,
            "meta": Jsonb(dict(meta)) if meta is not None else None,
            "priority": priority,
            "tags": list(tags) if tags is not None else None,
        }
        query = _sqlfiles.load("testing_select_jobs.sql", self.client.prefix)
        with self.client.connect() as conn:
            rows = conn.execute(query, params).fetchall()
        return [Job.from_row(row) for row in rows]

    def assert_enqueued(self, **filters: Any) -> Job:
        """Fail unless a job matching ``filters`` is enqueued; return the first match."""
        found = self.all_enqueued(**filters)
        if not found:
            nearby = self.all_enqueued(
                queue=filters.get("queue"), states=filters.get("states", ENQUEUED_STATES)
            )
            shown = [(j.worker, j.queue, j.args) for j in nearby[:5]]
            raise AssertionError(
                f"expected a job matching {_describe(filters)} to be enqueued; "
                f"enqueued jobs there: {shown or 'none'}"
            )
        return found[0]

    def refute_enqueued(self, **filters: Any) -> None:
        """Fail if a job matching ``filters`` is enqueued."""
        found = self.all_enqueued(**filters)
        if found:
            raise AssertionError(
                f"expected no job matching {_describe(filters)}, found {len(found)}: "
                f"{[(j.id, j.worker, j.args) for j in found[:5]]}"
            )

    def drain_queue(
        self,
        queue: str,
        *,
        with_scheduled: bool = False,
        with_recursion: bool = False,
        with_safety: bool = True,
        with_limit: int | None = None,
    ) -> dict[str, int]:
        """Run the queue's available jobs now, one by one, in this process.

        ``with_scheduled`` runs scheduled and retryable jobs too; ``with_recursion`` keeps
        going while jobs insert more; ``with_safety=False`` re-raises a job's exception.
        Returns counts by outcome: completed, retryable, discarded, cancelled, snoozed.
        """
        counts: Counter[str] = Counter()
        prefix = self.client.prefix
        fetch_sql = _sqlfiles.load("fetch_jobs.sql", prefix)
        stage_sql = _sqlfiles.load("testing_stage_queue.sql", prefix)
        ack_sql = _sqlfiles.load("ack_jobs.sql", prefix)
        ran = 0
        with self.client.connect(autocommit=True) as conn:
            while with_limit is None or ran < with_limit:
                if with_scheduled:
                    conn.execute(stage_sql, {"queue": queue})
                demand = _DRAIN_BATCH if with_limit is None else with_limit - ran
                params = ack_params([], _DRAINER[1]) | {
                    "queue": queue,
                    "demand": demand,
                    "global_limit": None,
                    "attempted_by": _DRAINER,
                }
                leased, _ = leased_jobs(conn.execute(fetch_sql, params).fetchall())
                if not leased:
                    break
                jobs = sorted(leased, key=lambda j: (j.priority, j.scheduled_at, j.id))
                for job in jobs:
                    ran += 1
                    job.client = self.client
                    ack, result = perform_to_outcome(job)
                    conn.execute(ack_sql, ack_params([ack], _DRAINER[1]))
                    counts[ack.outcome] += 1
                    if isinstance(result, BaseException) and not with_safety:
                        raise result
                if not with_recursion:
                    break
        return {outcome: counts.get(outcome, 0) for outcome in _OUTCOMES}


_DRAIN_BATCH = 10_000
_DRAINER = ["drain_queue", "drain_queue"]
_OUTCOMES = ("completed", "retryable", "discarded", "cancelled", "snoozed")


def _describe(filters: Mapping[str, Any]) -> str:
    parts = []
    for key, value in filters.items():
        if isinstance(value, type) and issubclass(value, Worker):
            value = value.name
        parts.append(f"{key}={value!r}")
    return ", ".join(parts) or "anything"
