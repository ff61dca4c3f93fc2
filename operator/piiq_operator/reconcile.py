"""One reconcile of one PIIQueue: validate, read Secrets and depth, apply, prune, report.

Level-triggered and idempotent: the change handlers and the drift timer all call
``reconcile`` and it always drives the cluster to the spec. Nothing here raises for a bad
spec, a missing Secret or an API error: they become a Degraded status and a warning Event,
and the timer tries again.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import autoscale
from .backlog import BacklogUnavailable, QueueDepth, read_depths
from .kube import ChildKey, Kube, KubeError, Manifest, matches
from .manifests import Owner, children, worker_name
from .sizing import QueuePlan, plan
from .spec import PIIQueueSpec, SpecError, parse_spec
from .status import (
    IngressObservation,
    Problem,
    QueueObservation,
    problem_status,
    reconciled_status,
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass
class Outcome:
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    applied: list[ChildKey] = field(default_factory=list)
    deleted: list[ChildKey] = field(default_factory=list)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime(TIME_FORMAT)


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.UTC).timestamp()


class _Blocked(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


async def _database_url(kube: Kube, namespace: str, spec: PIIQueueSpec) -> str:
    ref = spec.database
    data = await kube.read_secret(namespace, ref.name)
    if data is None:
        raise _Blocked(
            Problem(
                "SecretMissing",
                f"Secret {ref.name!r} (spec.database.secretRef) "
                f"does not exist in namespace {namespace!r}: create it with the "
                f"PostgreSQL URL under key {ref.key!r}",
            )
        )
    if not data.get(ref.key):
        raise _Blocked(
            Problem(
                "SecretKeyMissing",
                f"Secret {ref.name!r} has no key {ref.key!r}: "
                "add the PostgreSQL URL under it or set "
                "spec.database.secretRef.key",
            )
        )
    return data[ref.key]


async def _check_slack(kube: Kube, namespace: str, spec: PIIQueueSpec) -> None:
    name = spec.slack.name
    data = await kube.read_secret(namespace, name)
    if data is None:
        raise _Blocked(
            Problem(
                "SecretMissing",
                f"Secret {name!r} (spec.slack.secretRef) does not "
                f"exist in namespace {namespace!r}: create it with keys bot-token "
                "and signing-secret",
            )
        )
    if not data.get("bot-token"):
        raise _Blocked(
            Problem(
                "SecretKeyMissing",
                f"Secret {name!r} has no key 'bot-token': add "
                "the Slack bot token (xoxb-...) under it",
            )
        )
    if spec.ingress.enabled and not (data.get("signing-secret") or data.get("app-token")):
        raise _Blocked(
            Problem(
                "SecretKeyMissing",
                f"Secret {name!r} has neither 'signing-secret' "
                "nor 'app-token', which the enabled ingress needs: add one, or "
                "set spec.ingress.enabled: false",
            )
        )


async def _depths(url: str, spec: PIIQueueSpec) -> tuple[dict[str, QueueDepth] | None, str | None]:
    try:
        return await asyncio.to_thread(read_depths, url, spec.queue_prefix, list(spec.queues)), None
    except BacklogUnavailable as exc:
        return None, f"Backlog unknown: {exc}"


def _replicas(
    spec: PIIQueueSpec,
    plans: Mapping[str, QueuePlan],
    depths: Mapping[str, QueueDepth] | None,
    previous: Mapping[str, Any],
    now: float,
) -> dict[str, autoscale.ScaleState]:
    before = {q.get("name"): q for q in previous.get("queues") or [] if q.get("autoscaled")}
    states: dict[str, autoscale.ScaleState] = {}
    for queue, p in plans.items():
        if not p.autoscaled:
            states[queue] = autoscale.ScaleState(p.replicas)
            continue
        old = before.get(queue)
        prior = (
            autoscale.ScaleState(
                old.get("desiredReplicas", p.min_replicas), _epoch(old.get("scaleDownSince"))
            )
            if old
            else None
        )
        depth = depths.get(queue) if depths is not None else None
        states[queue] = autoscale.decide(
            p,
            spec.autoscaling.queues[queue].target_backlog_per_pod,
            depth.demand if depth else None,
            prior,
            now,
            spec.autoscaling.scale_down_delay,
        )
    return states


def _ready(actual: Mapping[ChildKey, Manifest], name: str) -> int:
    obj = actual.get(("Deployment", name)) or {}
    return int((obj.get("status") or {}).get("readyReplicas") or 0)


async def _sync(
    kube: Kube, namespace: str, owner_uid: str, instance: str, desired: list[Manifest]
) -> tuple[dict[ChildKey, Manifest], list[ChildKey], list[ChildKey]]:
    actual = await kube.list_children(namespace, owner_uid, instance)
    wanted = {(m["kind"], m["metadata"]["name"]): m for m in desired}
    applied = [key for key, m in wanted.items() if not matches(m, actual.get(key))]
    stale = sorted(set(actual) - set(wanted))
    await asyncio.gather(*(kube.apply(wanted[key]) for key in applied))
    await asyncio.gather(*(kube.delete(kind, namespace, name) for kind, name in stale))
    return actual, applied, stale


async def reconcile(body: Mapping[str, Any], kube: Kube, now: datetime.datetime) -> Outcome:
    meta = body["metadata"]
    name, namespace, uid = meta["name"], meta["namespace"], meta["uid"]
    generation = int(meta.get("generation") or 0)
    previous = body.get("status") or {}
    stamp = _iso(now)
    try:
        spec = parse_spec(name, body.get("spec"))
        url = await _database_url(kube, namespace, spec)
        await _check_slack(kube, namespace, spec)
        plans = plan(spec)
        depths, backlog_error = await _depths(url, spec)
        states = _replicas(spec, plans, depths, previous, now.timestamp())
        owner = Owner(name, namespace, uid)
        desired = children(spec, owner, plans, {q: s.replicas for q, s in states.items()})
        actual, applied, deleted = await _sync(kube, namespace, uid, name, desired)
    except SpecError as exc:
        return _blocked(generation, Problem("InvalidSpec", f"Fix the spec: {exc}"), previous, stamp)
    except _Blocked as exc:
        return _blocked(generation, exc.problem, previous, stamp)
    except KubeError as exc:
        problem = Problem("ApiError", f"{exc}; check the operator's RBAC; it retries on its timer")
        return _blocked(generation, problem, previous, stamp)

    queues = [
        QueueObservation(
            plan=p,
            deployment=worker_name(owner, q),
            desired=states[q].replicas,
            ready=_ready(actual, worker_name(owner, q)),
            depth=depths.get(q) if depths is not None else None,
            scale_down_since=_iso_or_none(states[q].low_since),
        )
        for q, p in plans.items()
    ]
    ingress = None
    if spec.ingress.enabled:
        deployment = f"{name}-ingress"
        ingress = IngressObservation(deployment, spec.ingress.replicas, _ready(actual, deployment))
    status = reconciled_status(generation, queues, ingress, backlog_error, previous, stamp)
    events = [Event("Normal", "Applied", f"Applied {kind} {child}") for kind, child in applied]
    events += [Event("Normal", "Deleted", f"Deleted {kind} {child}") for kind, child in deleted]
    return Outcome(status, events, applied, deleted)


def _iso_or_none(epoch: float | None) -> str | None:
    return _iso(datetime.datetime.fromtimestamp(epoch, datetime.UTC)) if epoch is not None else None


def _blocked(generation: int, problem: Problem, previous: Mapping[str, Any], now: str) -> Outcome:
    """A Degraded status; the warning Event only when the problem is new (no Event spam)."""
    status = problem_status(generation, problem, previous, now)
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == "Degraded"), {})
    repeated = old.get("status") == "True" and old.get("message") == problem.message
    events = [] if repeated else [Event("Warning", problem.reason, problem.message)]
    return Outcome(status, events)
