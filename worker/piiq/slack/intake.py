"""From a verified event to at most one job: the one enqueue path for HTTP and Socket Mode.

The job's unique key is the envelope's ``event_id``, enforced by the database: Slack's
retries, and the same event reaching several ingress replicas, make one job.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from ..queue import Client
from .events import route_event
from .jobs import message_job

log = structlog.get_logger("piiq.ingress")


@dataclass(frozen=True, slots=True)
class Intake:
    outcome: Literal["enqueued", "duplicate", "ignored"]
    reason: str
    job_id: int | None = None


class EventIntake:
    def __init__(self, client: Client, exempt_channels: Collection[str] = ()) -> None:
        self.client = client
        self.exempt_channels = frozenset(exempt_channels)

    async def accept(self, envelope: dict[str, Any]) -> Intake:
        routing = route_event(envelope, self.exempt_channels)
        if routing.args is None:
            return Intake("ignored", routing.reason)
        if not routing.args.get("event_id"):
            return Intake("ignored", "no event_id")
        job = await self.client.ainsert(message_job(routing.args))
        outcome: Literal["enqueued", "duplicate"] = "duplicate" if job.conflict else "enqueued"
        log.info(
            "event " + outcome,
            event_id=routing.args["event_id"],
            channel=routing.args["channel"],
            job_id=job.id,
            kind=routing.reason,
        )
        return Intake(outcome, routing.reason, job.id)
