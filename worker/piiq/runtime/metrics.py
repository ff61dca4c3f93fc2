"""Prometheus metrics for every piiq process, served by ``piiq.runtime.probes``.

The queue emits telemetry events (``piiq.queue.attach_telemetry``) that are counted here; the
Slack code and the ingress call the ``observe_*`` functions. Labels hold names, types
and outcomes only: never text, values or tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from ..queue import attach_telemetry

log = structlog.get_logger("piiq.metrics")

JOBS = Counter(
    "piiq_jobs_total",
    "Jobs executed, by queue, worker and outcome (completed, retryable, snoozed, "
    "cancelled, discarded, unknown_worker: kept until a process can load its worker).",
    ["queue", "worker", "outcome"],
)
JOB_DURATION = Histogram(
    "piiq_job_duration_seconds",
    "Time a job's perform took.",
    ["queue", "worker"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
RESCUED = Counter(
    "piiq_jobs_rescued_total",
    "Executing jobs taken back from dead or hung workers (fast rescue) or past the "
    "Lifeline's rescueAfter, by the workers' own maintenance, by queue and the state they "
    "went to (available: to run again; discarded: no attempt left).",
    ["queue", "state"],
)
FETCH_DURATION = Histogram(
    "piiq_fetch_duration_seconds",
    "Time one fetch (lease) statement took.",
    ["queue"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
QUEUE_PAUSED = Gauge(
    "piiq_queue_paused",
    "1 while the queue is paused in this worker (piiq queues pause), else 0.",
    ["queue"],
)
QUEUE_LIMIT = Gauge(
    "piiq_queue_limit",
    "Most jobs of the queue this worker runs at once (its --queue limit, or piiq queues scale).",
    ["queue"],
)
SLACK_CALLS = Counter(
    "piiq_slack_api_calls_total",
    "Slack Web API calls by method and outcome (ok, ratelimited, or Slack's error code).",
    ["method", "outcome"],
)
SLACK_CALLS_HELD = Counter(
    "piiq_slack_api_calls_held_total",
    "Slack Web API calls not made because another worker's 429 blocks the method in the "
    "workspace for now (PIIQ_SLACK_SHARED_RATE_LIMITS); their jobs wait for the block's end.",
    ["method"],
)
DECISIONS = Counter(
    "piiq_decisions_total",
    "Scan decisions by action (delete, warn, allow) and entity type (none when clean).",
    ["action", "entity_type"],
)
INGRESS_REQUESTS = Counter(
    "piiq_ingress_requests_total",
    "Events API requests by outcome (enqueued, duplicate, ignored, url_verification, "
    "rejected_signature, bad_request, too_large, unavailable, uninstall).",
    ["outcome"],
)


def _on_queue_event(event: str, data: dict[str, Any]) -> None:
    if event == "job.stop":
        JOBS.labels(data["queue"], data["worker"], data["outcome"]).inc()
        JOB_DURATION.labels(data["queue"], data["worker"]).observe(data["duration_s"])
    elif event == "fetch.stop":
        FETCH_DURATION.labels(data["queue"]).observe(data["duration_s"])
    elif event == "queue.control":
        QUEUE_PAUSED.labels(data["queue"]).set(1 if data["paused"] else 0)
        QUEUE_LIMIT.labels(data["queue"]).set(data["limit"])
    elif event == "jobs.rescued":
        RESCUED.labels(data["queue"], data["state"]).inc(data["count"])


attach_telemetry(_on_queue_event)


def observe_slack_call(method: str, outcome: str) -> None:
    SLACK_CALLS.labels(method, outcome).inc()


def observe_slack_call_held(method: str) -> None:
    SLACK_CALLS_HELD.labels(method).inc()


def observe_decision(action: str, entity_counts: Mapping[str, int]) -> None:
    if not entity_counts:
        DECISIONS.labels(action, "none").inc()
    for entity_type in entity_counts:
        DECISIONS.labels(action, entity_type).inc()


def observe_ingress(outcome: str) -> None:
    INGRESS_REQUESTS.labels(outcome).inc()


@dataclass(frozen=True)
class QueueTable:
    """What the queue depth collector reads from the jobs table at scrape time."""

    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # queue -> state
    oldest_available_s: Mapping[str, float] = field(default_factory=dict)  # queue -> seconds


class QueueDepthCollector(Collector):
    """``piiq_queue_jobs{queue, state}`` and ``piiq_queue_oldest_available_seconds{queue}``
    read from the database at scrape time, at most every ``ttl`` seconds (many replicas
    scraping must not load the database)."""

    def __init__(self, read: Callable[[], QueueTable], ttl: float = 10):
        self.read = read
        self.ttl = ttl
        self._cached: tuple[float, QueueTable] | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering would call collect() and query the database.
        yield from self._families()

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "piiq_queue_jobs",
                "Jobs in the table by queue and state.",
                labels=["queue", "state"],
            ),
            GaugeMetricFamily(
                "piiq_queue_oldest_available_seconds",
                "How long the oldest available job of each queue has waited to run (0: none "
                "waits): what personal data waits before it is handled.",
                labels=["queue"],
            ),
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.ttl:
            try:
                self._cached = (now, self.read())
            except Exception as exc:
                log.warning("metrics.queue_depth_failed", error=type(exc).__name__)
                self._cached = (now, QueueTable())  # unreachable: no figure, not a stale one
        table = self._cached[1]
        jobs, oldest = self._families()
        for queue, by_state in sorted(table.counts.items()):
            for state, count in by_state.items():
                jobs.add_metric([queue, state], count)
            oldest.add_metric([queue], table.oldest_available_s.get(queue, 0.0))
        yield jobs
        yield oldest


def register_queue_depth(read: Callable[[], QueueTable]) -> None:
    REGISTRY.register(QueueDepthCollector(read))
