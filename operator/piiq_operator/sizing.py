"""How many worker pods a queue gets and how many jobs each pod runs at once.

One Deployment runs identical pods, so the per-pod limit is the same for every pod:
``replicas = ceil(concurrency / concurrencyPerPod)`` and each pod runs at most
``ceil(concurrency / replicas)``. Those per-pod limits add up to the configured concurrency
when it divides evenly, and otherwise to less than one job per pod more (20 over pods of 8:
3 pods of 7 = 21), which status reports as the effective total. Every pod is also given
the configured concurrency as the queue's global limit (``--queue events=7/20``), enforced
in the fetch over all pods: at most 20 jobs execute at once, also while a rollout or a
scale-up runs old and new pods together.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import PIIQueueSpec


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class QueuePlan:
    queue: str
    concurrency: int  # configured total
    per_pod: int  # the `--queue q=N` of every pod
    replicas: int  # without autoscaling; the ceiling with it
    autoscaled: bool
    min_replicas: int
    max_replicas: int


def plan_queue(spec: PIIQueueSpec, queue: str) -> QueuePlan:
    concurrency = spec.queues[queue]
    static = ceil_div(concurrency, spec.concurrency_per_pod)
    scaling = spec.autoscaling.queues.get(queue)
    if spec.autoscaling.enabled and scaling is not None:
        # The per-pod limit depends only on the ceiling, so scaling never restarts pods.
        per_pod = ceil_div(concurrency, scaling.max_replicas)
        return QueuePlan(
            queue,
            concurrency,
            per_pod,
            scaling.max_replicas,
            True,
            scaling.min_replicas,
            scaling.max_replicas,
        )
    per_pod = ceil_div(concurrency, static)
    return QueuePlan(queue, concurrency, per_pod, static, False, static, static)


def plan(spec: PIIQueueSpec) -> dict[str, QueuePlan]:
    return {queue: plan_queue(spec, queue) for queue in spec.queues}
