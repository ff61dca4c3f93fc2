"""Thin kopf handlers: every trigger runs the same idempotent ``reconcile``.

Create, resume (operator restart) and spec updates reconcile at once; a timer reconciles
every ``interval`` seconds, which restores drift (a hand-scaled or deleted child), picks up
Secrets created later, refreshes readiness and backlog, and drives autoscaling. There is no
deletion handler: children carry ownerReferences and the garbage collector removes them.
kopf does put a finalizer on every PIIQueue (``kopf.zalando.org/KopfFinalizerMarker``), to
stop the timer when the PIIQueue is deleted; while the operator is not running, deleting a
PIIQueue waits for it (or for the finalizer to be removed by hand), so delete PIIQueues
before uninstalling the operator.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from . import GROUP, PLURAL, VERSION, crd, metrics
from .kube import Kube
from .policy import Policy
from .reconcile import reconcile

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Options:
    interval: float = 10.0  # seconds between drift/backlog reconciles of each PIIQueue
    clock: Clock = utcnow
    policy: Policy = field(default_factory=Policy)  # what the installer allows


# The status keys reconcile writes; any other key (kopf's own ``status.kopf``) is left alone.
OWNED_STATUS = frozenset(
    {
        "observedGeneration",
        "queueNames",
        "paused",
        "workers",
        "backlog",
        "backlogError",
        "queues",
        "conditions",
    }
)


def changed_status(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch from ``old`` to ``new``: the keys whose value changes, and None (delete)
    for an owned key ``new`` no longer has. An unchanged world writes nothing."""
    patch = {k: v for k, v in new.items() if old.get(k) != v}
    gone = {k: None for k in OWNED_STATUS - set(new) if old.get(k) is not None}
    return patch | gone


def settings(standalone: bool = True) -> kopf.OperatorSettings:
    result = kopf.OperatorSettings()
    result.peering.standalone = standalone
    result.posting.level = 20  # Normal and Warning Events, not kopf's debug chatter
    result.watching.server_timeout = 300  # re-list every few minutes: no silently dead watch
    result.watching.client_timeout = 330
    result.watching.connect_timeout = 30
    # A PIIQueue deleted while its timer runs waits for the timer to exit before kopf
    # releases its finalizer; kopf looks again only after this many seconds (default 60).
    result.background.cancellation_polling = 1.0
    return result


def build_registry(kube_factory: Callable[[], Kube], options: Options) -> kopf.OperatorRegistry:
    """A fresh registry (not kopf's global one), so tests and benches can run several."""
    registry = kopf.OperatorRegistry()
    crd.spec_schema()  # read now: a missing CRD file fails at start, not the first reconcile
    kube: list[Kube] = []
    # One reconcile per object at a time: the timer and a change handler must not interleave
    # (an older spec applied after a newer one would bring back a removed queue).
    locks: dict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
    # The status each object's last reconcile wrote. A handler that waited for the lock holds
    # a body read before that write landed: without this it would see the old status and
    # post the same Warning Event again.
    written: dict[str, dict[str, Any]] = {}

    async def run(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger) -> None:
        if not kube:
            kube.append(kube_factory())
        uid = body["metadata"]["uid"]
        async with locks[uid]:
            status = dict(body.get("status") or {})
            if uid in written:  # the owned keys as last written; kopf's own stay
                status = {k: v for k, v in status.items() if k not in OWNED_STATUS} | written[uid]
            with metrics.RECONCILE_DURATION.time():
                try:
                    outcome = await reconcile(
                        {**body, "status": status}, kube[0], options.clock(), options.policy
                    )
                except Exception:
                    metrics.RECONCILES.labels("error").inc()
                    raise
            written[uid] = outcome.status
        metrics.RECONCILES.labels(metrics.result_of(outcome.status)).inc()
        for event in outcome.events:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
            log = logger.warning if event.type == "Warning" else logger.info
            log("%s: %s", event.reason, event.message)
        for key, value in changed_status(outcome.status, body.get("status") or {}).items():
            patch.status[key] = value

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # A custom registry has none of kopf's default handlers: log in as the client does
        # (in-cluster service account, else the kubeconfig).
        return kopf.login_via_client(**kwargs)

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def on_change(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger, **_: Any) -> None:
        await run(body, patch, logger)

    @kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        interval=options.interval,
        initial_delay=options.interval,
        registry=registry,
    )
    async def on_timer(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger, **_: Any) -> None:
        await run(body, patch, logger)

    return registry
