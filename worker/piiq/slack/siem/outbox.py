"""Queueing an audit row's deliveries in the transaction that writes the row: the row and
its jobs commit together, so a row is never written without being sent (nor sent unwritten).
"""

from __future__ import annotations

from typing import Any

import psycopg

from ...queue import Client, Job, Unique
from ...runtime.settings import Settings
from .. import audit
from .sinks import sink_names

AUDIT_QUEUE = "audit"
DELIVERY_WORKER = "piiq.slack.siem.delivery.AuditDeliveryWorker"


def delivery_job(audit_id: int, sink: str, max_attempts: int, version: str | None = None) -> Job:
    """One POST of audit row ``audit_id`` to ``sink``. Args carry the row's id and the sink's
    name only (the worker reads the row, and the secret from its own environment). With
    ``version`` (the row's ``recorded_at``) a second queueing of the same write is a no-op."""
    return Job(
        worker=DELIVERY_WORKER,
        queue=AUDIT_QUEUE,
        max_attempts=max_attempts,
        args={"audit_id": audit_id, "sink": sink},
        unique=Unique(key=f"audit:{sink}:{audit_id}:{version}") if version else None,
    ).validate()


def queue_deliveries(
    client: Client,
    conn: psycopg.Connection[Any],
    written: audit.Written,
    settings: Settings,
) -> list[Job]:
    """A delivery job per configured sink for the row just written, on ``conn``."""
    version = written.recorded_at.isoformat()
    jobs = [
        delivery_job(written.id, sink, settings.audit_delivery_max_attempts, version)
        for sink in sink_names(settings)
    ]
    return client.insert_all(jobs, conn=conn) if jobs else []


def record_and_queue(
    client: Client,
    entry: audit.AuditEntry,
    settings: Settings,
    *,
    replace: bool = True,
) -> audit.Written | None:
    """Write ``entry`` (``audit.record``) and queue its deliveries, in one transaction."""
    with client.connection() as conn, conn.transaction():
        written = audit.record(conn, entry, client.prefix, replace=replace)
        if written is not None:
            queue_deliveries(client, conn, written, settings)
    return written
