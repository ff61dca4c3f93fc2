"""From a verified event to at most one job: the one enqueue path for HTTP and Socket Mode.

The job's unique key is the message (an edit: the envelope's ``event_id``), enforced by
the database: Slack's retries, the same event reaching several ingress replicas, and a
history scan that found the message make one job (``jobs.message_job``).

Events that arrive while an insert is in flight are inserted together in the next one:
one statement and one commit for many requests, with no timer and no added wait. A
batch the database refused is retried one event at a time, so one bad event fails alone;
a batch that could not reach the database fails at once, and no event waits longer than
``deadline`` seconds: Slack gets its 503 in time and delivers the event again.

With ``PIIQ_ARGS_KEYS`` set, what the message says (text, attachments, blocks, files) is
encrypted before it is inserted (``piiq.runtime.argscrypt``); the workers decrypt it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
import structlog

from ..queue import Client, Job
from ..runtime.argscrypt import ArgsKeys
from .events import route_event
from .jobs import message_job

log = structlog.get_logger("piiq.ingress")


@dataclass(frozen=True, slots=True)
class Intake:
    outcome: Literal["enqueued", "duplicate", "ignored"]
    reason: str
    job_id: int | None = None


class EventIntake:
    def __init__(
        self,
        client: Client,
        exempt_channels: Collection[str] = (),
        *,
        keys: ArgsKeys | None = None,
        max_batch: int = 500,
        deadline: float = 2.5,
    ) -> None:
        self.client = client
        self.exempt_channels = frozenset(exempt_channels)
        self.keys = keys  # with keys, the message's content is sealed before the insert
        self.max_batch = max_batch
        self.deadline = deadline
        self._pending: list[tuple[Job, asyncio.Future[Job]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def accept(self, envelope: dict[str, Any]) -> Intake:
        routing = route_event(envelope, self.exempt_channels)
        if routing.args is None:
            return Intake("ignored", routing.reason)
        if not routing.args.get("event_id"):
            return Intake("ignored", "no event_id")
        job = await asyncio.wait_for(
            self._insert(message_job(routing.args, self.keys)), self.deadline
        )
        outcome: Literal["enqueued", "duplicate"] = "duplicate" if job.conflict else "enqueued"
        log.info(
            "event " + outcome,
            event_id=routing.args["event_id"],
            channel=routing.args["channel"],
            job_id=job.id,
            kind=routing.reason,
        )
        return Intake(outcome, routing.reason, job.id)

    async def enqueue(self, job: Job) -> Job:
        """Insert ``job`` with the events (same batching, same deadline)."""
        return await asyncio.wait_for(self._insert(job), self.deadline)

    async def _insert(self, job: Job) -> Job:
        stored: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._pending.append((job, stored))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await stored

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                self._resolve(batch, await self.client.ainsert_all([j for j, _ in batch]))
            except psycopg.OperationalError as exc:  # unreachable: no point trying each
                for _, stored in batch:
                    if not stored.done():
                        stored.set_exception(exc)
            except Exception:
                for job, stored in batch:  # find the bad one; the others still get in
                    try:
                        self._resolve([(job, stored)], [await self.client.ainsert(job)])
                    except Exception as exc:
                        if not stored.done():
                            stored.set_exception(exc)

    @staticmethod
    def _resolve(batch: list[tuple[Job, asyncio.Future[Job]]], jobs: Sequence[Job]) -> None:
        for (_, stored), job in zip(batch, jobs, strict=True):
            if not stored.done():  # the request may have been cancelled meanwhile
                stored.set_result(job)
