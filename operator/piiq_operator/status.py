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
class Rollout:
    """What a Deployment's status says about its pods."""

    ready: int = 0  # status.readyReplicas
    done: bool = False  # the current spec is rolled out: every desired pod updated, available
    stalled: bool = False  # Progressing False with ProgressDeadlineExceeded


def rollout(deployment: Mapping[str, Any] | None, desired: int) -> Rollout:
    """A Deployment's rollout as ``kubectl rollout status`` judges it, for ``desired`` replicas.

    Done only when the controller has seen the current generation and every one of the
    ``desired`` pods is updated and available with no old pod left; a Deployment listed
    before this reconcile changed it (other replicas or spec) is not done.
    """
    if not deployment:
        return Rollout()
    meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
    status = deployment.get("status") or {}

    def count(key: str) -> int:
        return int(status.get(key) or 0)

    seen = count("observedGeneration") >= int(meta.get("generation") or 0)
    done = (
        seen
        and spec.get("replicas", 1) == desired
        and count("updatedReplicas") == count("availableReplicas") == desired
        and count("replicas") == desired
    )
    stalled = any(
        c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
        for c in status.get("conditions") or []
    )
    return Rollout(count("readyReplicas"), done, stalled and not done)


@dataclass(frozen=True)
class QueueObservation:
    plan: QueuePlan
    deployment: str
    desired: int
    rollout: Rollout
    depth: QueueDepth | None = None
    scale_down_since: str | None = None

    @property
    def ready(self) -> int:
        return self.rollout.ready


@dataclass(frozen=True)
class IngressObservation:
    deployment: str
    desired: int
    rollout: Rollout


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
    """Status for a spec that cannot be applied; existing workers are left as they were.

    The workers seen last are kept; the backlog is not (it is no longer being read), and the
    status keys left out are removed by the handler (a merge patch with null)."""
    keep = {k: previous[k] for k in ("queueNames", "workers") if k in previous}
    if isinstance(previous.get("queues"), list):
        keep["queues"] = [_without_backlog(q) for q in previous["queues"]]
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


def _without_backlog(entry: Any) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    return {k: v for k, v in entry.items() if k not in BACKLOG_KEYS}


BACKLOG_KEYS = ("backlog", "executing", "paused", "limit")  # read from the database


HEALTHY = (False, "AsExpected", "The spec is valid and applied")  # the Degraded condition


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
        entry["paused"] = q.depth.paused
        if q.depth.limit is not None:
            entry["limit"] = q.depth.limit
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
    deployments = [(q.plan.queue, q.deployment, q.desired, q.rollout) for q in queues]
    if ingress is not None:
        deployments.append(("ingress", ingress.deployment, ingress.desired, ingress.rollout))
    waiting = [
        f"{what} {r.ready}/{n} ready{'' if r.ready < n else ', rollout in progress'} "
        f"(kubectl rollout status deployment {name})"
        for what, name, n, r in deployments
        if not r.done
    ]
    stalled = [
        f"Deployment {name} exceeded its progress deadline: kubectl describe deployment {name} "
        "(image, resources, probes)"
        for _, name, _, r in deployments
        if r.stalled
    ]
    summary = f"{len(queues)} queues, {ready}/{desired} workers ready"
    if stalled:
        ready_c = (False, "RolloutStalled", f"Waiting for pods: {'; '.join(waiting)}")
        progressing = (False, "RolloutStalled", "; ".join(stalled))
        degraded = (True, "RolloutStalled", "; ".join(stalled))
    elif waiting:
        ready_c = (False, "WorkersNotReady", f"Waiting for pods: {'; '.join(waiting)}")
        progressing = (True, "ScalingWorkers", summary)
        degraded = HEALTHY
    else:
        ready_c = (True, "AllWorkersReady", summary)
        progressing = (False, "Reconciled", summary)
        degraded = HEALTHY
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "queueNames": ",".join(q.plan.queue for q in queues),
        "paused": ",".join(q.plan.queue for q in queues if q.depth and q.depth.paused) or None,
        "workers": f"{ready}/{desired}",
        "queues": [_queue_entry(q) for q in queues],
        "conditions": _conditions(
            generation,
            previous,
            now,
            ready=ready_c,
            progressing=progressing,
            degraded=degraded,
        ),
    }
    if backlog_error is None and all(q.depth is not None for q in queues):
        status["backlog"] = sum(q.depth.available for q in queues if q.depth is not None)
        status["backlogError"] = None
    else:
        status["backlog"] = None  # unknown, not zero
        status["backlogError"] = backlog_error
    return status
