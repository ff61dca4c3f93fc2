"""The operator's own Prometheus metrics (served by ``piiq operator --metrics-port``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

RECONCILES = Counter(
    "piiq_operator_reconciles_total",
    "Reconciles of PIIQueues by result: ready, progressing, degraded, or error (an "
    "exception; kopf retries).",
    ["result"],
)
RECONCILE_DURATION = Histogram(
    "piiq_operator_reconcile_duration_seconds",
    "Time one reconcile took, API calls included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def result_of(status: dict[str, Any]) -> str:
    """ready, progressing or degraded, from the conditions a reconcile computed."""
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Degraded") == "True":
        return "degraded"
    return "ready" if conditions.get("Ready") == "True" else "progressing"
