"""``AuditDeliveryWorker``: POSTs one audit row to one sink, as a queue job.

A 2xx completes the job. A network error, a timeout or any other status fails the attempt:
the queue retries it with its backoff (15 s + 2^attempt). A 429 snoozes the job for
Retry-After (an attempt is not used up). The last failed attempt records a dead letter
and discards the job, which ``piiq audit replay`` queues again: no event is lost while
the SIEM is down, however long. The last attempt records its dead letter before it
POSTs, and clears it when the sink took the event: a worker killed in that attempt (its
job rescued as discarded) leaves the event to replay too.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import structlog

from ...queue import Cancel, Discard, Job, Result, Snooze, Worker, load_sql
from ...runtime.settings import Settings
from .deadletters import clear_dead_letter, record_dead_letter
from .events import event_of
from .outbox import AUDIT_QUEUE
from .sinks import Request, Sink, SinkConfigError, configured_sinks

log = structlog.get_logger("piiq.audit")

_PACKAGE = "piiq.slack"
# A Retry-After beyond this is not believed (a misconfigured proxy must not park events).
MAX_RETRY_AFTER_S = 3600.0
DEFAULT_RETRY_AFTER_S = 30.0


class DeliveryFailed(RuntimeError):
    """The sink did not take the event this attempt (the message names why, never a secret)."""


class AuditDeliveryWorker(Worker):
    queue = AUDIT_QUEUE
    max_attempts = 20

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    def timeout_for(self, job: Job) -> float | None:
        return self.settings.audit_delivery_timeout + 5

    def perform(self, job: Job) -> Result:
        audit_id, name = int(job.args["audit_id"]), str(job.args["sink"])
        try:
            sink = configured_sinks(self.settings).get(name)
            if sink is None:
                raise DeliveryFailed(
                    f"audit sink {name!r} is not configured in this worker: set its URL and "
                    "secret (PIIQ_AUDIT_*) on the workers of the audit queue"
                )
            rows = _rows(job, [audit_id])
            if not rows:
                return Cancel(f"audit row {audit_id} no longer exists")
            last = job.attempt >= job.max_attempts
            if last:  # a kill in this attempt leaves the rescued job discarded: keep the event
                self._dead_letter(job, name, "the last delivery attempt did not finish")
            result = self._deliver(job, sink, rows)
            if last and job.client is not None:
                clear_dead_letter(job.client, audit_id=audit_id, sink=name, job_id=job.id or 0)
            return result
        except Exception as exc:
            return self._failed(job, name, exc)

    def _deliver(self, job: Job, sink: Sink, rows: list[Any]) -> Result:
        request = sink.request([event_of(row) for row in rows])
        status, retry_after = post(request, self.settings.audit_delivery_timeout)
        if 200 <= status < 300:
            log.info("audit delivered", sink=sink.name, audit_id=job.args["audit_id"])
            return None
        if status == 429:
            wait = retry_after if retry_after is not None else DEFAULT_RETRY_AFTER_S
            log.warning("audit sink rate limited", sink=sink.name, retry_after=wait)
            return Snooze(min(wait, MAX_RETRY_AFTER_S))
        raise DeliveryFailed(f"the {sink.name} sink answered HTTP {status}")

    def _failed(self, job: Job, sink: str, exc: Exception) -> Result:
        """Retry (raise) while attempts remain; at the last, a dead letter."""
        why = _describe(exc)
        fields = {"sink": sink, "audit_id": job.args["audit_id"], "attempt": job.attempt}
        if job.attempt < job.max_attempts:
            log.warning("audit delivery failed, will retry", error=why, **fields)
            raise DeliveryFailed(why) from None
        self._dead_letter(job, sink, why)
        log.error(
            "audit event is a dead letter: `piiq audit replay` sends it again", error=why, **fields
        )
        return Discard(f"dead letter after {job.attempt} attempts: {why}")

    @staticmethod
    def _dead_letter(job: Job, sink: str, why: str) -> None:
        if job.client is not None:
            record_dead_letter(
                job.client,
                audit_id=int(job.args["audit_id"]),
                sink=sink,
                job_id=job.id or 0,
                attempts=job.attempt,
                error=why,
            )


def post(request: Request, timeout_s: float) -> tuple[int, float | None]:
    """POST ``request``; the status and Retry-After (seconds) if the answer had one.
    Network errors and timeouts raise (``OSError``)."""
    http = urllib.request.Request(request.url, data=request.body, headers=request.headers)
    try:
        with urllib.request.urlopen(http, timeout=timeout_s) as response:
            response.read()
            return response.status, None
    except urllib.error.HTTPError as answer:  # a status, not a network failure
        with answer:
            answer.read()
        return answer.code, _seconds(answer.headers.get("Retry-After"))


def _rows(job: Job, ids: list[int]) -> list[Any]:
    with job.client.connection() as conn:
        sql = load_sql("audit_rows.sql", job.client.prefix, _PACKAGE)
        return conn.execute(sql, {"ids": ids}).fetchall()


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the default wait


def _describe(exc: Exception) -> str:
    """Why an attempt failed, for logs and the job's errors: our own messages as they are,
    other errors by type only (a network error's text may carry the sink's URL)."""
    if isinstance(exc, DeliveryFailed | SinkConfigError):
        return str(exc)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return "the sink did not answer in time (PIIQ_AUDIT_DELIVERY_TIMEOUT)"
    if isinstance(reason, OSError):
        return f"cannot connect to the sink ({type(reason).__name__})"
    return type(exc).__name__
