"""Autoscaling decisions: pure, bounded, no flapping."""

from __future__ import annotations

from piiq_operator.autoscale import ScaleState, decide
from piiq_operator.backlog import QueueDepth
from piiq_operator.manifests import Owner
from piiq_operator.reconcile import desired_replicas, live_replicas
from piiq_operator.sizing import plan
from piiq_operator.spec import parse_spec
from tests.operator.operator_helpers import piiqueue

SPEC = parse_spec(
    "pii",
    piiqueue(
        "pii",
        {"events": 40},
        concurrencyPerPod=8,
        autoscaling={"enabled": True, "queues": {"events": {"minReplicas": 1, "maxReplicas": 5}}},
    )["spec"],
)
PLAN = plan(SPEC)["events"]
DELAY = 300.0


def step(demand: int | None, previous: ScaleState | None, now: float) -> ScaleState:
    return decide(PLAN, 50, demand, previous, now, DELAY)


def test_per_pod_limit_depends_on_the_ceiling_only() -> None:
    assert (PLAN.autoscaled, PLAN.min_replicas, PLAN.max_replicas, PLAN.per_pod) == (True, 1, 5, 8)


def test_scales_up_at_once_within_bounds() -> None:
    assert step(0, None, 0).replicas == 1
    assert step(120, ScaleState(1), 0).replicas == 3
    assert step(10_000, ScaleState(3), 0).replicas == 5


def test_scales_down_only_after_the_delay() -> None:
    state = ScaleState(4)
    state = step(20, state, 1000)
    assert state == ScaleState(4, 1000)
    state = step(20, state, 1000 + DELAY - 1)
    assert state.replicas == 4
    assert step(20, state, 1000 + DELAY).replicas == 1


def test_a_burst_resets_the_scale_down_clock() -> None:
    state = step(20, ScaleState(4), 1000)
    state = step(200, state, 1100)
    assert state == ScaleState(4)
    assert step(20, state, 1000 + DELAY).replicas == 4


def test_no_flapping_near_the_boundary_or_without_data() -> None:
    assert step(190, ScaleState(4), 0) == ScaleState(4)  # within 10 % of 200
    assert step(None, ScaleState(3, 5.0), 10_000) == ScaleState(3)
    replicas = set()
    state = ScaleState(2)
    for t in range(0, 600, 10):  # demand oscillating around 2 pods' worth
        state = step(100 if t % 20 else 101, state, t)
        replicas.add(state.replicas)
    assert replicas == {3}


def depth(demand: int) -> QueueDepth:
    return QueueDepth(available=demand, executing=0)


def test_without_a_kept_decision_the_live_deployment_is_the_prior() -> None:
    """A fresh status (or one lost) must not skip scaleDownDelay: 4 live pods stay for now."""
    plans = plan(SPEC)
    state = desired_replicas(SPEC, plans, {"events": depth(20)}, {}, {"events": 4}, 1000.0)
    assert state["events"] == ScaleState(4, 1000.0)
    later = {"queues": [{"name": "events", "autoscaled": True, "desiredReplicas": 4,
                         "scaleDownSince": "1970-01-01T00:16:40Z"}]}  # fmt: skip
    state = desired_replicas(SPEC, plans, {"events": depth(20)}, later, {"events": 4}, 1000 + DELAY)
    assert state["events"].replicas == 1


def test_live_replicas_reads_each_queues_deployment() -> None:
    owner = Owner("pii", "ns", "uid")
    actual = {
        ("Deployment", "pii-events"): {"spec": {"replicas": 4}},
        ("Deployment", "pii-default"): {"spec": {}},
    }
    assert live_replicas(actual, owner, ["events", "default", "other"]) == {"events": 4}
