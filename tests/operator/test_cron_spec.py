"""``spec.cron``: periodic jobs in a PIIQueue, checked by the CRD and the operator, and
passed as ``--cron`` to the worker pods of each entry's queue."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from piiq.cli.queue import worker as worker_command
from piiq.queue._cron import CronEntry, parse_entry
from piiq_operator.manifests import Owner, Transport, children
from piiq_operator.sizing import plan
from piiq_operator.spec import SpecError, parse_spec
from tests.operator.operator_helpers import piiqueue

OWNER = Owner("pii", "prod", "0b5e8a4e-0000-4000-8000-000000000001")
CRON = [
    {"expression": "*/5 * * * *", "worker": "myapp.workers.Report", "queue": "default"},
    {
        "expression": "0 9 * * MON-FRI",
        "worker": "myapp.workers.Digest",
        "queue": "events",
        "args": {"kind": "daily", "limit": 10},
        "priority": 2,
        "name": "daily-digest",
    },
    {"expression": "@hourly", "worker": "myapp.workers.Sweep", "queue": "events"},
]


def problems(**changes: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec("pii", piiqueue("pii", **changes)["spec"])
    return caught.value.problems


def worker_args(**changes: Any) -> dict[str, list[str]]:
    spec = parse_spec("pii", piiqueue("pii", **changes)["spec"])
    plans = plan(spec)
    replicas = {q: p.replicas for q, p in plans.items()}
    objs = children(spec, OWNER, plans, replicas, Transport.HTTP, None, None)
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["args"]
        for o in objs
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    }


def test_cron_entries_are_parsed() -> None:
    spec = parse_spec("pii", piiqueue("pii", cron=CRON)["spec"])
    assert spec.cron == (
        CronEntry("*/5 * * * *", "myapp.workers.Report", queue="default"),
        CronEntry(
            "0 9 * * MON-FRI",
            "myapp.workers.Digest",
            args={"kind": "daily", "limit": 10},
            queue="events",
            priority=2,
            name="daily-digest",
        ),
        CronEntry("@hourly", "myapp.workers.Sweep", queue="events"),
    )
    assert parse_spec("pii", piiqueue("pii")["spec"]).cron == ()


def test_each_entry_goes_to_the_pods_of_its_queue_as_cron_arguments() -> None:
    args = worker_args(cron=CRON)
    assert args["pii-default"] == [
        "worker", "--queue", "default=5/10", "--cron", "*/5 * * * * myapp.workers.Report "
        '{"queue":"default"}',
    ]  # fmt: skip
    events = args["pii-events"]
    assert events[:3] == ["worker", "--queue", "events=7/20"]
    lines = events[4::2]
    assert events[3::2] == ["--cron", "--cron"]
    spec = parse_spec("pii", piiqueue("pii", cron=CRON)["spec"])
    assert tuple(parse_entry(line) for line in lines) == spec.cron[1:]  # what the pod reads
    # ... and `piiq worker` itself accepts the arguments as the pod passes them.
    context = worker_command.make_context("worker", events[1:])
    assert context.params["crontab"] == tuple(lines)
    assert worker_args() == {
        "pii-default": ["worker", "--queue", "default=5/10"],
        "pii-events": ["worker", "--queue", "events=7/20"],
    }


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"expression": "*/5 25 * * *"}, "spec.cron[0]: cron expression '*/5 25 * * *': hour "
         "value 25 is out of range 0-23"),
        ({"expression": "0 0 31 FEBR *"}, "month value 'FEBR' is not a number or a name JAN-DEC"),
        ({"expression": "@reboot"}, "spec.cron[0].expression '@reboot' is not valid: use five "
         "cron fields or an alias"),
        ({"expression": "* * * *"}, "spec.cron[0].expression '* * * *' is not valid"),
        ({"expression": None}, "spec.cron[0].expression is required"),
        ({"worker": None}, "spec.cron[0].worker is required"),
        ({"worker": "my app"}, "spec.cron[0].worker 'my app' is not valid"),
        ({"queue": "reports"}, "spec.cron[0].queue 'reports' is not a queue of spec.queues"),
        ({"queue": None}, "spec.cron[0].queue is required"),
        ({"priority": 12}, "spec.cron[0].priority is 12: set a number from 0 to 9"),
        ({"args": [1]}, "spec.cron[0].args must be an object, not [1]"),
        ({"schedule": "@daily"}, "spec.cron[0].schedule is not a known field"),
    ],
)  # fmt: skip
def test_bad_entries_name_the_value(entry: dict[str, Any], expected: str) -> None:
    base = {"expression": "@daily", "worker": "x.Y", "queue": "default"}
    found = problems(cron=[{**base, **entry}])
    assert any(expected in p for p in found), found


def test_an_entry_on_a_queue_that_may_scale_to_zero_is_refused() -> None:
    found = problems(
        cron=[{"expression": "@daily", "worker": "x.Y", "queue": "events"}],
        autoscaling={"enabled": True, "queues": {"events": {"minReplicas": 0}}},
    )
    assert any("queue 'events' may scale to zero pods" in p for p in found), found


def test_the_crd_checks_cron_entries(crd_schema: dict[str, Any]) -> None:
    body = piiqueue("pii", cron=CRON)
    jsonschema.validate(body, crd_schema)
    for change in (
        {"expression": "every five minutes"},
        {"expression": "@reboot"},
        {"expression": "* * * *"},
        {"worker": "my app"},
        {"queue": "Events"},
        {"priority": 10},
        {"args": "kind=daily"},
    ):
        bad = copy.deepcopy(body)
        bad["spec"]["cron"][0].update(change)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, crd_schema)
        with pytest.raises(SpecError):
            parse_spec("pii", bad["spec"])
    missing = copy.deepcopy(body)
    del missing["spec"]["cron"][0]["queue"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, crd_schema)
    # jsonschema runs no CEL: the rule that the queue is one of spec.queues is there.
    rules = [r["rule"] for r in crd_schema["properties"]["spec"]["x-kubernetes-validations"]]
    assert "!has(self.cron) || self.cron.all(c, c.queue in self.queues)" in rules
    assert crd_schema["properties"]["spec"]["properties"]["cron"]["maxItems"] == 50
