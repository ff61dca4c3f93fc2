"""Pure status computation: what the operator observed -> the PIIQueue's ``status``.

Conditions follow ``metav1.Condition`` (type, status, reason, message, lastTransitionTime,
observedGeneration) so ``kubectl wait --for=condition=Ready`` and kstatus tools work.
``lastTransitionTime`` changes only when a condition's status changes, so an unchanged
world writes an unchanged status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .backlog import QueueDepth
from .sizing import QueuePlan


@dataclass(frozen=True)
class Problem:
    """Why the PIIQueue cannot be reconciled as asked; ``message`` says what to fix."""

    reason: str
    message: str


@dataclass(frozen=True)
class QueueObservation:
    plan: QueuePlan
    deployment: str
    desired: int
    ready: int
    depth: QueueDepth | None = None
    scale_down_since: str | None = None


@dataclass(frozen=True)
class IngressObservation:
    deployment: str
    desired: int
    ready: int


def _condition(
    kind: str,
    ok: bool,
    reason: str,
    message: str,
    generation: int,
    previous: Mapping[str, Any],
    now: str,
) -> dict[str, Any]:
    status = "True" if ok else "False"
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == kind), None)
    since = old.get("lastTransitionTime") if old and old.get("status") == status else None
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since or now,
        "observedGeneration": generation,
    }


def _conditions(
    generation: int,
    previous: Mapping[str, Any],
    now: str,
    *,
    ready: tuple[bool, str, str],
    progressing: tuple[bool, str, str],
    degraded: tuple[bool, str, str],
) -> list[dict[str, Any]]:
    return [
        _condition("Ready", *ready, generation, previous, now),
        _condition("Progressing", *progressing, generation, previous, now),
        _condition("Degraded", *degraded, generation, previous, now),
    ]


def problem_status(
    generation: int, problem: Problem, previous: Mapping[str, Any], now: str
) -> dict[str, Any]:
    """Status for a spec that cannot be applied; existing workers are left as they were."""
    keep = {k: previous[k] for k in ("queueNames", "workers", "queues", "backlog") if k in previous}
    return {
        **keep,
        "observedGeneration": generation,
        "conditions": _conditions(
            generation,
            previous,
            now,
            ready=(False, problem.reason, f"Not reconciled: {problem.message}"),
            progressing=(False, problem.reason, "Waiting for the spec or its Secrets to be fixed"),
            degraded=(True, problem.reason, problem.message),
        ),
    }


def _queue_entry(q: QueueObservation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": q.plan.queue,
        "deployment": q.deployment,
        "concurrency": q.plan.concurrency,
        "concurrencyPerPod": q.plan.per_pod,
        "effectiveConcurrency": q.plan.per_pod * q.desired,
        "desiredReplicas": q.desired,
        "readyReplicas": q.ready,
        "autoscaled": q.plan.autoscaled,
    }
    if q.depth is not None:
        entry["backlog"] = q.depth.available
        entry["executing"] = q.depth.executing
    if q.scale_down_since:
        entry["scaleDownSince"] = q.scale_down_since
    return entry


def reconciled_status(
    generation: int,
    queues: list[QueueObservation],
    ingress: IngressObservation | None,
    backlog_error: str | None,
    previous: Mapping[str, Any],
    now: str,
) -> dict[str, Any]:
    desired = sum(q.desired for q in queues)
    ready = sum(min(q.ready, q.desired) for q in queues)
    waiting = [
        f"{q.plan.queue} {q.ready}/{q.desired} ready (kubectl describe deployment {q.deployment})"
        for q in queues
        if q.ready < q.desired
    ]
    if ingress is not None and ingress.ready < ingress.desired:
        waiting.append(
            f"ingress {ingress.ready}/{ingress.desired} ready "
            f"(kubectl describe deployment {ingress.deployment})"
        )
    summary = f"{len(queues)} queues, {ready}/{desired} workers ready"
    if waiting:
        ready_c = (False, "WorkersNotReady", f"Waiting for pods: {'; '.join(waiting)}")
        progressing = (True, "ScalingWorkers", summary)
    else:
        ready_c = (True, "AllWorkersReady", summary)
        progressing = (False, "Reconciled", summary)
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "queueNames": ",".join(q.plan.queue for q in queues),
        "workers": f"{ready}/{desired}",
        "queues": [_queue_entry(q) for q in queues],
        "conditions": _conditions(
            generation,
            previous,
            now,
            ready=ready_c,
            progressing=progressing,
            degraded=(False, "AsExpected", "The spec is valid and applied"),
        ),
    }
    if backlog_error is None and all(q.depth is not None for q in queues):
        status["backlog"] = sum(q.depth.available for q in queues if q.depth is not None)
        status["backlogError"] = None
    else:
        status["backlog"] = None  # unknown, not zero
        status["backlogError"] = backlog_error
    return status
