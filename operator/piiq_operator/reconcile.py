"""One reconcile of one PIIQueue: validate, read Secrets and depth, apply, prune, report.

Level-triggered and idempotent: the change handlers and the drift timer all call
``reconcile`` and it always drives the cluster to the spec. Nothing here raises for a bad
spec, a missing Secret or ConfigMap, an API error or a bug: they become a Degraded status
and a warning Event, and the timer tries again. The timer also picks up a changed
detection ConfigMap: its hash is in the workers' pod template, so they roll.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import autoscale
from .backlog import BacklogUnavailable, QueueDepth, read_depths
from .kube import ChildKey, Kube, KubeError, Manifest, matches
from .manifests import (
    Owner,
    children,
    detection_files,
    detection_hash,
    ingress_name,
    ingress_transport,
    worker_name,
)
from .policy import Policy, image_refusal
from .sizing import QueuePlan, plan
from .spec import PIIQueueSpec, SpecError, parse_spec
from .status import (
    IngressObservation,
    Problem,
    QueueObservation,
    Rollout,
    problem_status,
    reconciled_status,
    rollout,
)

LOG = logging.getLogger(__name__)

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


async def _read_secret(
    kube: Kube, namespace: str, name: str, field: str, keys: str
) -> dict[str, bytes]:
    data = await kube.read_secret(namespace, name)
    if data is None:
        raise _Blocked(
            Problem(
                "SecretMissing",
                f"Secret {name!r} ({field}) does not exist in namespace {namespace!r}: "
                f"create it with {keys}",
            )
        )
    return data


async def _database_url(kube: Kube, namespace: str, spec: PIIQueueSpec) -> str:
    ref = spec.database
    data = await _read_secret(
        kube,
        namespace,
        ref.name,
        "spec.database.secretRef",
        f"the PostgreSQL URL under key {ref.key!r}",
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
    try:
        return data[ref.key].decode()
    except UnicodeDecodeError:
        raise _Blocked(
            Problem(
                "SecretKeyInvalid",
                f"Secret {ref.name!r} key {ref.key!r} is not UTF-8 text: store the PostgreSQL "
                "URL there as plain text",
            )
        ) from None


async def _slack_keys(kube: Kube, namespace: str, spec: PIIQueueSpec) -> set[str]:
    """The Slack Secret's keys that have a value, once it has what the spec needs."""
    name = spec.slack.secret.name
    data = await _read_secret(
        kube,
        namespace,
        name,
        "spec.slack.secretRef",
        "keys bot-token and signing-secret (or app-token for Socket Mode)",
    )
    keys = {key for key, value in data.items() if value}
    if spec.slack.oauth is not None:
        await _oauth_keys(kube, namespace, spec.slack.oauth.secret.name)
    elif "bot-token" not in keys:
        raise _Blocked(
            Problem(
                "SecretKeyMissing",
                f"Secret {name!r} has no key 'bot-token': add "
                "the Slack bot token (xoxb-...) under it",
            )
        )
    if spec.ingress.enabled and not keys & {"signing-secret", "app-token"}:
        raise _Blocked(
            Problem(
                "SecretKeyMissing",
                f"Secret {name!r} has neither 'signing-secret' (Events API over HTTP) "
                "nor 'app-token' (Socket Mode), which the enabled ingress needs: add one, or "
                "set spec.ingress.enabled: false",
            )
        )
    return keys


async def _oauth_keys(kube: Kube, namespace: str, name: str) -> None:
    """The OAuth Secret has what the install pods and the workers read (a missing key
    would leave them in CreateContainerConfigError)."""
    wanted = ("client-id", "client-secret", "token-keys")
    data = await _read_secret(
        kube, namespace, name, "spec.slack.oauth.secretRef", f"keys {', '.join(wanted)}"
    )
    missing = [key for key in wanted if not data.get(key)]
    if missing:
        raise _Blocked(
            Problem(
                "SecretKeyMissing",
                f"Secret {name!r} (spec.slack.oauth.secretRef) has no key "
                f"{', '.join(map(repr, missing))}: add the Slack app's Client ID and Client "
                "Secret (Basic Information) as client-id and client-secret, and "
                "`piiq keys generate` as token-keys",
            )
        )


async def _detection(kube: Kube, namespace: str, spec: PIIQueueSpec) -> str | None:
    """The hash of the detection ConfigMap's keys the workers read, once it has them all;
    None when the spec names no ConfigMap."""
    ref = spec.policy_config_map
    if ref is None:
        return None
    files = detection_files(ref)
    data = await kube.read_configmap(namespace, ref.name)
    if data is None:
        wanted = " and ".join(f"{f.holds} under key {f.key!r}" for f in files)
        raise _Blocked(
            Problem(
                "ConfigMapMissing",
                f"ConfigMap {ref.name!r} (spec.detection.policyConfigMap) does not exist in "
                f"namespace {namespace!r}: create it with {wanted}",
            )
        )
    missing = next((f for f in files if f.key not in data), None)
    if missing is not None:
        raise _Blocked(
            Problem(
                "ConfigMapKeyMissing",
                f"ConfigMap {ref.name!r} has no key {missing.key!r}: add {missing.holds} under "
                f"it or set spec.detection.policyConfigMap.{missing.field}",
            )
        )
    return detection_hash(ref, data)


async def _depths(url: str, spec: PIIQueueSpec) -> tuple[dict[str, QueueDepth] | None, str | None]:
    try:
        return await asyncio.to_thread(read_depths, url, spec.queue_prefix, list(spec.queues)), None
    except BacklogUnavailable as exc:
        return None, f"Backlog unknown: {exc}"


def live_replicas(
    actual: Mapping[ChildKey, Manifest], owner: Owner, queues: Iterable[str]
) -> dict[str, int]:
    """spec.replicas of each queue's existing Deployment."""
    found: dict[str, int] = {}
    for queue in queues:
        deployment = actual.get(("Deployment", worker_name(owner, queue))) or {}
        replicas = (deployment.get("spec") or {}).get("replicas")
        if isinstance(replicas, int) and not isinstance(replicas, bool):
            found[queue] = replicas
    return found


def desired_replicas(
    spec: PIIQueueSpec,
    plans: Mapping[str, QueuePlan],
    depths: Mapping[str, QueueDepth] | None,
    previous: Mapping[str, Any],
    live: Mapping[str, int],
    now: float,
) -> dict[str, autoscale.ScaleState]:
    """Each queue's replicas. An autoscaled queue starts from the decision kept in status or,
    without one (a new status, a queue just switched to autoscaling), from its Deployment's
    replicas, so a scale-down waits scaleDownDelay either way."""
    before = {q.get("name"): q for q in previous.get("queues") or [] if q.get("autoscaled")}
    states: dict[str, autoscale.ScaleState] = {}
    for queue, p in plans.items():
        if not p.autoscaled:
            states[queue] = autoscale.ScaleState(p.replicas)
            continue
        old = before.get(queue)
        prior = None
        if old:
            prior = autoscale.ScaleState(
                old.get("desiredReplicas", p.min_replicas), _epoch(old.get("scaleDownSince"))
            )
        elif queue in live:
            prior = autoscale.ScaleState(live[queue])
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


class _SyncFailed(KubeError):
    """An apply or delete failed; ``applied`` and ``deleted`` are the calls that succeeded."""

    def __init__(self, cause: KubeError, applied: list[ChildKey], deleted: list[ChildKey]) -> None:
        super().__init__(str(cause), cause.status)
        self.applied, self.deleted = applied, deleted


async def _each(
    action: Callable[[ChildKey], Awaitable[None]], keys: list[ChildKey]
) -> tuple[list[ChildKey], KubeError | None]:
    """Run ``action`` for every key at once: the keys it succeeded for, and the first failure."""
    results = await asyncio.gather(*(action(key) for key in keys), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, KubeError):
            raise result
    failures = [r for r in results if isinstance(r, KubeError)]
    done = [key for key, r in zip(keys, results, strict=True) if not isinstance(r, BaseException)]
    return done, failures[0] if failures else None


def _controlled_by(obj: Manifest, uid: str) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == uid and r.get("controller") for r in refs)


async def _refuse_takeover(
    kube: Kube, owner: Owner, desired: list[Manifest], actual: Mapping[ChildKey, Manifest]
) -> None:
    """Blocks when a child to create has the name of an object this PIIQueue does not own.

    A forced server-side apply would take such an object over (a Deployment or Service that
    happens to be called ``<name>-ingress``) and the garbage collector would delete it with
    the PIIQueue; the operator leaves it alone and says which object is in the way."""
    missing = [m for m in desired if (m["kind"], m["metadata"]["name"]) not in actual]
    found = await asyncio.gather(
        *(kube.read(m["kind"], owner.namespace, m["metadata"]["name"]) for m in missing)
    )
    foreign = [
        f"{m['kind']} {owner.namespace}/{m['metadata']['name']}"
        for m, obj in zip(missing, found, strict=True)
        if obj is not None and not _controlled_by(obj, owner.uid)
    ]
    if foreign:
        raise _Blocked(
            Problem(
                "NotOwned",
                f"{', '.join(foreign)} already exist{'s' if len(foreign) == 1 else ''} and "
                f"{'is' if len(foreign) == 1 else 'are'} not owned by PIIQueue {owner.name!r}: "
                "the operator does not take over objects it did not create; delete or rename "
                f"{'it' if len(foreign) == 1 else 'them'}, or rename the PIIQueue",
            )
        )


def _selector_changed(desired: Manifest, actual: Manifest | None) -> bool:
    if actual is None or desired["kind"] != "Deployment":
        return False
    return (actual.get("spec") or {}).get("selector") != desired["spec"]["selector"]


async def _sync(
    kube: Kube, namespace: str, desired: list[Manifest], actual: Mapping[ChildKey, Manifest]
) -> tuple[list[ChildKey], list[ChildKey]]:
    """Apply what differs, delete what is no longer wanted; (applied, deleted).

    A Deployment whose selector changed (immutable) is deleted and created again.
    """
    wanted = {(m["kind"], m["metadata"]["name"]): m for m in desired}
    # ``matches`` ignores what the server has beyond the manifest; a selector must be equal.
    replaced = [key for key, m in wanted.items() if _selector_changed(m, actual.get(key))]
    changed = [
        key for key, m in wanted.items() if key in replaced or not matches(m, actual.get(key))
    ]
    stale = sorted(set(actual) - set(wanted))

    async def delete(key: ChildKey) -> None:
        await kube.delete(key[0], namespace, key[1])

    async def apply(key: ChildKey) -> None:
        await kube.apply(wanted[key])

    gone, failure = await _each(delete, replaced)
    applied, apply_failure = await _each(
        apply, [k for k in changed if k not in replaced or k in gone]
    )
    deleted, delete_failure = await _each(delete, stale)
    failure = failure or apply_failure or delete_failure
    if failure is not None:
        raise _SyncFailed(failure, applied, deleted)
    return applied, deleted


def _api_problem(exc: KubeError) -> Problem:
    if exc.forbidden:
        hint = "check the operator's RBAC (docs/operator.md lists what it needs)"
    elif exc.status is not None and 400 <= exc.status < 500:
        hint = "the API server refused it"
    else:
        hint = "the API server did not answer"
    return Problem("ApiError", f"{exc}; {hint}; the operator retries on its timer")


def _child_events(applied: list[ChildKey], deleted: list[ChildKey]) -> list[Event]:
    events = [Event("Normal", "Applied", f"Applied {kind} {child}") for kind, child in applied]
    return events + [
        Event("Normal", "Deleted", f"Deleted {kind} {child}") for kind, child in deleted
    ]


async def reconcile(
    body: Mapping[str, Any], kube: Kube, now: datetime.datetime, policy: Policy
) -> Outcome:
    """Never raises: every failure becomes a Degraded status (and a Warning Event when new).

    ``policy`` is what the operator's installer allows (images, the Slack API URL)."""
    meta = body["metadata"]
    generation = int(meta.get("generation") or 0)
    previous = body.get("status") or {}
    stamp = _iso(now)
    try:
        return await _reconcile(body, kube, now, policy, generation, previous, stamp)
    except SpecError as exc:
        return _blocked(generation, Problem("InvalidSpec", f"Fix the spec: {exc}"), previous, stamp)
    except _Blocked as exc:
        return _blocked(generation, exc.problem, previous, stamp)
    except _SyncFailed as exc:
        outcome = _blocked(generation, _api_problem(exc), previous, stamp)
        outcome.events[:0] = _child_events(exc.applied, exc.deleted)
        return Outcome(outcome.status, outcome.events, exc.applied, exc.deleted)
    except KubeError as exc:
        return _blocked(generation, _api_problem(exc), previous, stamp)
    except Exception as exc:  # a bug must not stop the other PIIQueues or the timer
        LOG.exception("reconciling PIIQueue %s/%s failed", meta.get("namespace"), meta.get("name"))
        problem = Problem(
            "InternalError",
            f"The operator failed with {type(exc).__name__}: check the operator logs for the "
            "traceback (kubectl logs deploy/<release>-operator); it retries on its timer",
        )
        return _blocked(generation, problem, previous, stamp)


async def _reconcile(
    body: Mapping[str, Any],
    kube: Kube,
    now: datetime.datetime,
    policy: Policy,
    generation: int,
    previous: Mapping[str, Any],
    stamp: str,
) -> Outcome:
    meta = body["metadata"]
    name, namespace, uid = meta["name"], meta["namespace"], meta["uid"]
    spec = parse_spec(name, body.get("spec"))
    if refusal := image_refusal(spec.image, policy.allowed_image_repositories):
        raise _Blocked(Problem("ImageNotAllowed", refusal))
    url = await _database_url(kube, namespace, spec)
    transport = ingress_transport(await _slack_keys(kube, namespace, spec))
    detection = await _detection(kube, namespace, spec)
    plans = plan(spec)
    depths, backlog_error = await _depths(url, spec)
    owner = Owner(name, namespace, uid)
    actual = await kube.list_children(namespace, uid, name)
    live = live_replicas(actual, owner, plans)
    states = desired_replicas(spec, plans, depths, previous, live, now.timestamp())
    replicas = {q: s.replicas for q, s in states.items()}
    desired = children(spec, owner, plans, replicas, transport, policy.slack_api_url, detection)
    await _refuse_takeover(kube, owner, desired, actual)
    applied, deleted = await _sync(kube, namespace, desired, actual)

    def observed(deployment: str, want: int) -> Rollout:
        found = rollout(actual.get(("Deployment", deployment)), want)
        if ("Deployment", deployment) in applied:  # listed before this change
            return dataclasses.replace(found, done=False, stalled=False)
        return found

    queues = [
        QueueObservation(
            plan=p,
            deployment=worker_name(owner, q),
            desired=replicas[q],
            rollout=observed(worker_name(owner, q), replicas[q]),
            depth=depths.get(q) if depths is not None else None,
            scale_down_since=_iso_or_none(states[q].low_since),
        )
        for q, p in plans.items()
    ]
    ingress = None
    if spec.ingress.enabled:
        deployment = ingress_name(owner)
        ingress = IngressObservation(
            deployment, spec.ingress.replicas, observed(deployment, spec.ingress.replicas)
        )
    status = reconciled_status(generation, queues, ingress, backlog_error, previous, stamp)
    return Outcome(status, _child_events(applied, deleted), applied, deleted)


def _iso_or_none(epoch: float | None) -> str | None:
    return _iso(datetime.datetime.fromtimestamp(epoch, datetime.UTC)) if epoch is not None else None


def _blocked(generation: int, problem: Problem, previous: Mapping[str, Any], now: str) -> Outcome:
    """A Degraded status; the warning Event only when the problem is new (no Event spam)."""
    status = problem_status(generation, problem, previous, now)
    old: Mapping[str, Any] = next(
        (c for c in previous.get("conditions") or [] if c.get("type") == "Degraded"), {}
    )
    repeated = old.get("status") == "True" and old.get("message") == problem.message
    events = [] if repeated else [Event("Warning", problem.reason, problem.message)]
    return Outcome(status, events)
