"""Replicas from queue depth, without flapping.

Demand is the jobs a queue could be running now (available + executing). The wanted
replicas are ``ceil(demand / targetBacklogPerPod)`` within [minReplicas, maxReplicas].
Scaling up happens at once; scaling down only after the demand stayed below the current
size for ``scaleDownDelay`` and only when it is more than 10 % below it (a tolerance band as
the HorizontalPodAutoscaler has). An unknown depth (database unreachable) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sizing import QueuePlan, ceil_div

TOLERANCE = 0.1


@dataclass(frozen=True)
class ScaleState:
    replicas: int
    low_since: float | None = None  # epoch seconds since when fewer pods would do


def decide(
    plan: QueuePlan,
    target_per_pod: int,
    demand: int | None,
    previous: ScaleState | None,
    now: float,
    delay: float,
) -> ScaleState:
    current = previous.replicas if previous else plan.min_replicas
    current = min(max(current, plan.min_replicas), plan.max_replicas)
    if demand is None:
        return ScaleState(current)
    wanted = min(max(ceil_div(demand, target_per_pod), plan.min_replicas), plan.max_replicas)
    if wanted >= current:
        return ScaleState(wanted)
    if current and demand >= current * target_per_pod * (1 - TOLERANCE):
        return ScaleState(current)
    low_since = previous.low_since if previous and previous.low_since is not None else now
    if now - low_since >= delay:
        return ScaleState(wanted)
    return ScaleState(current, low_since)
