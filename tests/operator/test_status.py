"""Status as a pure function: rollouts, stalled Deployments, a Degraded status, the patch."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from piiq.queue import migrate_up, pause_queue, scale_queue
from piiq_operator.backlog import read_depths
from piiq_operator.handlers import OWNED_STATUS, changed_status
from piiq_operator.sizing import plan
from piiq_operator.spec import parse_spec
from piiq_operator.status import (
    Problem,
    QueueObservation,
    Rollout,
    problem_status,
    reconciled_status,
    rollout,
)
from tests.operator.operator_helpers import piiqueue

NOW = "2026-01-01T00:00:00Z"
PLAN = plan(parse_spec("pii", piiqueue("pii", {"events": 20})["spec"]))["events"]


def deployment(
    desired: int = 3, conditions: list[Any] | None = None, **status: int
) -> dict[str, Any]:
    """A Deployment at generation 2, rolled out but for the ``status`` given."""
    generation = 2
    rolled = {
        "observedGeneration": generation,
        "replicas": desired,
        "updatedReplicas": desired,
        "readyReplicas": desired,
        "availableReplicas": desired,
    }
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": desired},
        "status": {**rolled, **status, "conditions": conditions or []},
    }


@pytest.mark.parametrize(
    ("obj", "desired", "done"),
    [
        (deployment(), 3, True),
        (deployment(observedGeneration=1), 3, False),  # the controller has not seen the change
        (deployment(updatedReplicas=1), 3, False),  # old pods still serve
        (deployment(availableReplicas=2), 3, False),
        (deployment(3, **{"replicas": 4}), 3, False),  # an old pod terminating
        (deployment(), 5, False),  # listed before it was scaled
        (deployment(0), 0, True),
        (None, 1, False),
    ],
)
def test_rollout_done_only_when_the_current_spec_is_rolled_out(
    obj: dict[str, Any] | None, desired: int, done: bool
) -> None:
    assert rollout(obj, desired).done is done


def observation(r: Rollout) -> QueueObservation:
    return QueueObservation(PLAN, "pii-events", 3, r)


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_a_rollout_in_progress_is_progressing_not_ready() -> None:
    status = reconciled_status(1, [observation(Rollout(3, False))], None, None, {}, NOW)
    found = conditions(status)
    assert found["Ready"]["status"] == "False" and found["Progressing"]["status"] == "True"
    assert "events 3/3 ready, rollout in progress" in found["Ready"]["message"]
    assert "kubectl rollout status deployment pii-events" in found["Ready"]["message"]
    assert found["Degraded"]["status"] == "False"


def test_a_stalled_rollout_is_degraded_naming_the_deployment() -> None:
    stalled = rollout(
        deployment(
            updatedReplicas=1,
            conditions=[
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            ],
        ),
        3,
    )
    assert stalled == Rollout(3, False, True)
    found = conditions(reconciled_status(1, [observation(stalled)], None, None, {}, NOW))
    assert (found["Degraded"]["status"], found["Degraded"]["reason"]) == ("True", "RolloutStalled")
    assert "Deployment pii-events exceeded its progress deadline" in found["Degraded"]["message"]
    assert found["Ready"]["status"] == found["Progressing"]["status"] == "False"


PREVIOUS = {
    "observedGeneration": 1,
    "queueNames": "events",
    "workers": "3/3",
    "backlog": 12,
    "backlogError": "Backlog unknown: timeout",
    "queues": [{"name": "events", "readyReplicas": 3, "backlog": 12, "executing": 2}],
    "kopf": {"progress": {}},
}


def test_a_degraded_status_drops_the_stale_backlog() -> None:
    status = problem_status(2, Problem("InvalidSpec", "Fix the spec: x"), PREVIOUS, NOW)
    assert "backlog" not in status and "backlogError" not in status
    assert status["queues"] == [{"name": "events", "readyReplicas": 3}]
    assert status["workers"] == "3/3"
    patch = changed_status(status, PREVIOUS)
    assert patch["backlog"] is None and patch["backlogError"] is None  # removed by merge patch
    assert "kopf" not in patch  # kopf's own status is not ours to delete


def test_changed_status_writes_nothing_for_an_unchanged_world() -> None:
    assert changed_status(PREVIOUS, PREVIOUS) == {}
    assert changed_status({"workers": "3/3"}, {"workers": "2/3"}) == {"workers": "3/3"}


def test_every_status_key_reconcile_writes_is_owned() -> None:
    reconciled = reconciled_status(1, [observation(Rollout(3, True))], None, "x", {}, NOW)
    degraded = problem_status(1, Problem("X", "y"), PREVIOUS, NOW)
    assert set(reconciled) | set(degraded) <= OWNED_STATUS


def test_paused_and_scaled_queues_are_read_from_the_database(fresh_database: str) -> None:
    """`piiq queues pause|scale` shows in the PIIQueue's status (kubectl get piiq -o wide)."""
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        migrate_up(conn)
        assert read_depths(fresh_database, "public", ["events"])["events"].paused is False
        pause_queue(conn, "events")
        scale_queue(conn, "default", 3)
    depths = read_depths(fresh_database, "public", ["events", "default"])
    assert (depths["events"].paused, depths["events"].limit) == (True, None)
    assert (depths["default"].paused, depths["default"].limit) == (False, 3)
    observed = QueueObservation(PLAN, "pii-events", 3, Rollout(3, True), depths["events"])
    status = reconciled_status(1, [observed], None, None, {}, NOW)
    assert status["paused"] == "events"
    assert status["queues"][0]["paused"] is True and "limit" not in status["queues"][0]


def test_a_schema_from_before_queue_control_reads_as_nothing_paused(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        migrate_up(conn)
        conn.execute("DROP TABLE public.piiq_queues")
    assert read_depths(fresh_database, "public", ["events"])["events"].paused is False
