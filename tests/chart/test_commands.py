"""Every command line the chart and the operator put into a container is a valid `piiq`
command: parsed by the real click CLI (the image's ENTRYPOINT is `piiq`), not run."""

from __future__ import annotations

from typing import Any

import click
import pytest
import yaml

from piiq_operator.manifests import Owner, children
from piiq_operator.sizing import plan
from piiq_operator.spec import parse_spec
from tests.support.helm_chart import ROOT, by_kind, containers, render
from tests.support.piiq_commands import parse_piiq_args

from .values_sets import VALUE_SETS

OWNER = Owner("pii-detector", "piiq", "0b5e8a4e-0000-4000-8000-000000000002")


def operator_children(piiqueue: dict[str, Any]) -> list[dict[str, Any]]:
    """What the operator creates for ``piiqueue``, from its pure builders."""
    spec = parse_spec(piiqueue["metadata"]["name"], piiqueue["spec"])
    plans = plan(spec)
    return children(spec, OWNER, plans, {q: p.replicas for q, p in plans.items()})


def chart_piiqueues() -> list[dict[str, Any]]:
    return [q for values in VALUE_SETS.values() for q in by_kind(render(values), "PIIQueue")]


def example_piiqueues() -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((ROOT / "examples/piiqueue.yaml").read_text())
    return [d for d in docs if d["kind"] == "PIIQueue"]


def command_lines() -> list[tuple[str, list[str]]]:
    found = []
    for values in VALUE_SETS.values():
        for obj, container in containers(render(values)):
            found.append((f"chart {obj['kind']} {obj['metadata']['name']}", container["args"]))
    for piiqueue in [*chart_piiqueues(), *example_piiqueues()]:
        for obj, container in containers(operator_children(piiqueue)):
            found.append((f"operator {obj['kind']} {obj['metadata']['name']}", container["args"]))
    return found


COMMAND_LINES = command_lines()


@pytest.mark.parametrize(("where", "args"), COMMAND_LINES, ids=[w for w, _ in COMMAND_LINES])
def test_container_args_parse_as_a_piiq_command(where: str, args: list[str]) -> None:
    parse_piiq_args(args)


def test_every_kind_of_process_is_covered() -> None:
    commands = {parse_piiq_args(args)[0] for _, args in COMMAND_LINES}
    assert commands == {
        "operator", "worker", "maintenance", "ingress", "queues", "canary", "migrate",
    }  # fmt: skip


def test_what_the_parse_means() -> None:
    by_where = dict(COMMAND_LINES)
    _, worker = parse_piiq_args(by_where["operator Deployment pii-detector-events"])
    assert worker["queues"] == ("events=7/20",)
    _, maintenance = parse_piiq_args(by_where["operator CronJob pii-detector-maintenance"])
    assert maintenance["once"] and maintenance["prune_max_age"] == 7 * 86400
    assert maintenance["rescue_after"] == 1800
    _, operator = parse_piiq_args(by_where["chart Deployment piiq-operator"])
    assert operator["standalone"] and operator["liveness"] == "http://0.0.0.0:8080/healthz"


@pytest.mark.parametrize(
    "args",
    [
        ["worker", "--queue", "events"],
        ["worker", "--queues", "events=1"],
        ["maintenance", "--once", "--prune-max-age", "7 days"],
        ["operator", "--log-format", "yaml"],
        ["serve"],
    ],
)
def test_the_check_refuses_what_piiq_would_refuse(args: list[str]) -> None:
    with pytest.raises(click.ClickException):
        parse_piiq_args(args)
