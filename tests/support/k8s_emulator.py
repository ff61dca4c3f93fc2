"""A Kubernetes API emulator realistic enough for kopf and kubectl: kmock plus a shim.

kmock 0.8's ``KubernetesEmulator`` stores objects and serves GET/LIST/WATCH/POST/PATCH/
DELETE over real HTTP, but it assigns no server-side metadata and has a few gaps that stall
kopf and confuse kubectl (each listed below). ``RealisticEmulator`` adds, per request, what
an API server would:

* ``uid``, ``creationTimestamp``, ``resourceVersion`` and ``generation`` on create; a fresh
  ``resourceVersion`` on every write and ``generation + 1`` when ``spec`` changes;
* ``/status`` semantics for resources with a status subresource (each endpoint writes only
  its part);
* HTTP 422, not 500, when a JSON-patch ``test`` fails (kopf relies on it);
* LIST answers with a collection ``resourceVersion``, ``kind`` and ``apiVersion`` (kubectl),
  and built-in kinds' items without their own ``kind`` and ``apiVersion``, as the server;
* WATCH subscribes before it takes its snapshot (kmock subscribes after and loses events
  written meanwhile), honours ``?resourceVersion=N`` and streams as application/json;
* server-side apply on a missing object creates it;
* cascading garbage collection by ownerReference uid;
* a Deployment's ``spec.selector`` is immutable (HTTP 422, as the API server answers);
* optionally a stand-in Deployment controller (``ready_deployments``) that rolls every
  Deployment out at once (observedGeneration, updated, available and ready replicas), so
  readiness can be tested without pods.

It is not an API server: no schema validation, defaulting, strategic merge, label
selectors, RBAC or admission. It leans on kmock internals, hence the pin ``kmock==0.8``.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import kmock
import yaml
from kmock._internal import enums

DEPLOYMENTS = "apps/v1/deployments"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_name(resource: Any) -> str:
    """``apps/v1/deployments`` or ``v1/services`` for a kmock resource reference."""
    parts = [resource.group, resource.version, resource.plural]
    return "/".join(p for p in parts if p)


def _rv_of(obj: Any) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion", 0))
    except (AttributeError, TypeError, ValueError):
        return 0


KUBERNETES_VERSION = "1.32.4"  # what /version reports


class RealisticEmulator(kmock.KubernetesEmulator):
    ready_deployments: bool = False
    # kmock matches each request against its whole request log (quadratic); a bound keeps
    # many-object runs (the bench) fast. ``served`` counts every request regardless.
    request_log_limit: int | None = None

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.served: Counter[str] = Counter()
        self._versions = itertools.count(1000)
        self._last_version = 999
        self._custom_groups: set[str] = set()
        # client-go (kubectl wait, get -w) refuses kmock's application/octet-stream watches.
        (
            (self.fallback**1)[enums.action.WATCH]
            << kmock.headers({"Content-Type": "application/json"})
            << self._serve_watch
        )

    # -- set-up helpers ------------------------------------------------------------------

    def add_crd(self, path: Path) -> str:
        """Serve the custom resource of a CRD file; returns its ``group/version/plural``."""
        crd = yaml.safe_load(path.read_text())
        names, version = crd["spec"]["names"], crd["spec"]["versions"][0]
        resource = f"{crd['spec']['group']}/{version['name']}/{names['plural']}"
        self._custom_groups.add(crd["spec"]["group"])
        self.resources[resource] = kmock.ResourceInfo(
            kind=names["kind"],
            singular=names["singular"],
            namespaced=crd["spec"]["scope"] == "Namespaced",
            shortnames=set(names.get("shortNames", [])),
            verbs={"get", "list", "watch", "create", "update", "patch", "delete"},
            subresources=set(version.get("subresources", {})),
        )
        return resource

    def live(self, resource: str) -> Iterator[tuple[str | None, str, dict[str, Any]]]:
        """(namespace, name, object) of every existing object of ``resource``."""
        for (res, namespace, name), obj in list(self.objects.items()):
            if resource_name(res) == resource and not obj.deleted:
                yield namespace, name, obj.raw

    # -- the shim --------------------------------------------------------------------------

    def _next_version(self) -> str:
        self._last_version = next(self._versions)
        return str(self._last_version)

    def _has_status_subresource(self, resource: Any) -> bool:
        try:
            return "status" in self.resources[resource].subresources
        except Exception:
            return False

    async def _handle(self, request: Any) -> Any:
        self.served[
            f"{request.method.value} {request.resource.plural if request.resource else '-'}"
        ] += 1
        if self.request_log_limit is not None and len(self._requests) > self.request_log_limit:
            del self._requests[: -self.request_log_limit]
        if request.resource is not None and request.action == enums.action.CREATE:
            self._stamp_create(request)
        elif request.resource is not None and request.action == enums.action.UPDATE:
            await self._prepare_update(request)
        try:
            response = await super()._handle(request)
        except (jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPatchConflict) as exc:
            raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from None
        if request.resource is not None and request.action in (
            enums.action.CREATE,
            enums.action.UPDATE,
            enums.action.DELETE,
        ):
            await self._control_deployments(request)
            await self._collect_garbage()
        return response

    def _stamp_create(self, request: Any) -> None:
        data = request.data
        if not isinstance(data, dict):
            return
        meta = data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):  # kopf's Events use it
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        if request.namespace:
            meta.setdefault("namespace", request.namespace)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta["resourceVersion"] = self._next_version()
        meta["generation"] = 1

    async def _prepare_update(self, request: Any) -> None:
        key = (request.resource, request.namespace, request.name)
        missing = key not in self.objects or self.objects[key].deleted
        if not missing:
            self._check_immutable(request, self.objects[key].raw)
        data, version = request.data, self._next_version()
        content_type = (request.headers or {}).get("Content-Type", "")
        if (
            missing
            and content_type.startswith("application/apply-patch")
            and isinstance(data, dict)
        ):
            await self._apply_create(request, key, version)
        try:
            generation = int(self.objects[key].get("metadata", {}).get("generation", 1))
        except KeyError:
            generation = 1
        on_status = request.subresource == "status"
        split = self._has_status_subresource(request.resource)
        if isinstance(data, dict):
            if on_status:  # /status writes status only
                for k in [k for k in data if k not in ("status", "metadata")]:
                    data.pop(k)
            elif split:  # the main endpoint ignores status
                data.pop("status", None)
            if "spec" in data and not on_status and not self._same_spec(key, data["spec"]):
                generation += 1
            meta = data.get("metadata") or {}
            data["metadata"] = meta
            meta.update(resourceVersion=version, generation=generation)
        elif isinstance(data, list):  # RFC 6902 JSON patch (kopf's finalizers and annotations)
            if on_status:
                data[:] = [
                    op
                    for op in data
                    if op.get("op") == "test" or op.get("path", "").startswith("/status")
                ]
            elif split:
                data[:] = [op for op in data if not op.get("path", "").startswith("/status")]
            if not on_status and any(
                op.get("path", "").startswith("/spec") and op.get("op") != "test" for op in data
            ):
                generation += 1
            data.append({"op": "add", "path": "/metadata/resourceVersion", "value": version})
            data.append({"op": "add", "path": "/metadata/generation", "value": generation})

    @staticmethod
    def _check_immutable(request: Any, current: dict[str, Any]) -> None:
        """A write that changes a Deployment's selector is refused, as by the API server."""
        data = request.data
        if resource_name(request.resource) != DEPLOYMENTS or not isinstance(data, dict):
            return
        wanted = (data.get("spec") or {}).get("selector")
        selector = (current.get("spec") or {}).get("selector")
        if wanted is not None and selector is not None and wanted != selector:
            raise kmock.KubernetesError(
                status=422,
                reason="Invalid",
                message=(
                    f'Deployment.apps "{request.name}" is invalid: spec.selector: Invalid value: '
                    f"{wanted!r}: field is immutable"
                ),
            )

    def _same_spec(self, key: Any, patch: dict[str, Any]) -> bool:
        """A merge patch that changes nothing in spec leaves the generation alone."""
        try:
            current = self.objects[key].raw.get("spec") or {}
        except KeyError:
            return False

        def merged(base: Any, change: Any) -> Any:
            if not isinstance(base, dict) or not isinstance(change, dict):
                return change
            out = dict(base)
            for k, v in change.items():
                if v is None:
                    out.pop(k, None)
                else:
                    out[k] = merged(base.get(k), v)
            return out

        return merged(current, patch) == current

    async def _apply_create(self, request: Any, key: Any, version: str) -> None:
        """Server-side apply upserts (helm 4 and ``kubectl apply --server-side`` rely on it)."""
        data = request.data
        meta = data.setdefault("metadata", {})
        meta.update(
            name=request.name,
            uid=str(uuid.uuid4()),
            creationTimestamp=_now(),
            resourceVersion=version,
            generation=1,
        )
        if request.namespace:
            meta["namespace"] = request.namespace
        async with self._lock:
            if key in self.objects:
                self.objects[key].create(data)
            else:
                self.objects[key] = data
            await self._buses[request.resource].put({"type": "ADDED", "object": dict(data)})

    async def _control_deployments(self, request: Any) -> None:
        """Stand-in controller: when enabled, every Deployment is rolled out at once."""
        if (
            not self.ready_deployments
            or resource_name(request.resource) != DEPLOYMENTS
            or request.subresource
        ):
            return
        await self.roll_out_deployments()

    async def roll_out_deployments(self) -> None:
        """Report every Deployment's current generation rolled out, all replicas ready."""
        async with self._lock:
            for (res, _, _), obj in list(self.objects.items()):
                if resource_name(res) != DEPLOYMENTS or obj.deleted:
                    continue
                replicas = (obj.get("spec") or {}).get("replicas", 1)
                rolled_out = {
                    "observedGeneration": obj["metadata"].get("generation", 1),
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                }
                status = obj.get("status") or {}
                if all(status.get(k) == v for k, v in rolled_out.items()):
                    continue
                obj.patch(
                    {
                        "metadata": {"resourceVersion": self._next_version()},
                        "status": rolled_out,
                    }
                )
                await self._buses[res].put({"type": "MODIFIED", "object": obj.raw})

    async def _collect_garbage(self) -> None:
        """Cascading deletion: drop objects whose owners (by uid) are all gone."""
        while True:
            async with self._lock:
                alive = {
                    o.get("metadata", {}).get("uid")
                    for _, o in self.objects.items()
                    if not o.deleted
                }
                orphans = [
                    (key, o)
                    for key, o in self.objects.items()
                    if not o.deleted
                    and (refs := o.get("metadata", {}).get("ownerReferences"))
                    and not any(r.get("uid") in alive for r in refs)
                ]
                for (res, _, _), o in orphans:
                    raw = o.raw
                    o.delete()
                    await self._buses[res].put({"type": "DELETED", "object": raw})
            if not orphans:
                return

    async def _serve_list(self, request: Any) -> Any:
        result = await super()._serve_list(request)
        result["metadata"]["resourceVersion"] = str(self._last_version)
        res = request.resource
        try:
            kind = self.resources[res].kind or res.plural.capitalize()
        except Exception:
            kind = res.plural.capitalize()
        result["kind"] = f"{kind}List"
        result["apiVersion"] = f"{res.group}/{res.version}" if res.group else res.version
        if res.group not in self._custom_groups:
            # As the API server does: a built-in kind's list items carry no kind or
            # apiVersion (custom resources' items, stored as they came, keep theirs).
            result["items"] = [
                {k: v for k, v in item.items() if k not in ("kind", "apiVersion")}
                for item in result["items"]
            ]
        return result

    async def _serve_server_version(self, request: Any) -> dict[str, str]:
        # kmock says v1.26.4+k3s1: below the chart's kubeVersion, which Helm enforces.
        major, minor, _ = KUBERNETES_VERSION.split(".")
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{KUBERNETES_VERSION}",
            "gitTreeState": "clean",
            "platform": "linux/amd64",
        }

    async def _serve_version(self, request: Any) -> Any:
        result = await super()._serve_version(request)
        # kmock names the core group version "/v1": client-go then finds no core kinds
        # ("no matches for kind Secret in version v1").
        if isinstance(result, dict) and result.get("groupVersion") == "/v1":
            result["groupVersion"] = "v1"
        # kmock copies shortNames onto "x/status" entries; kubectl then calls "deploy" ambiguous.
        for entry in result.get("resources", []):
            if "/" in entry["name"]:
                entry["shortNames"] = []
                entry["categories"] = []
        return result

    async def _serve_watch(self, request: Any) -> AsyncIterator[Any]:
        yield b""
        bus = self._buses[request.resource]
        marker = await bus.mark()  # subscribe first ...
        try:
            since = int(request.params.get("resourceVersion") or 0)
        except ValueError:
            since = 0
        async with self._lock:  # ... then snapshot
            objs = self._KubernetesEmulator__get_objs(request, strict=False)
            events = [
                {"type": "ADDED", "object": o.raw}
                for o in objs
                if not o.deleted and _rv_of(o.raw) > since
            ]
        for event in events:
            yield event
        check = self._KubernetesEmulator__check
        try:
            async for event in bus.stream(since=marker):
                obj = event.get("object", {})
                if _rv_of(obj) and _rv_of(obj) <= since:
                    continue
                meta = obj.get("metadata", {})
                if check(
                    request, request.resource, meta.get("namespace"), meta.get("name"), strict=False
                ):
                    yield event
        finally:
            await bus.unmark(marker)


def write_kubeconfig(path: Path, server: str, namespace: str = "default") -> Path:
    """A kubeconfig for kubectl and the kubernetes client: plain HTTP, a dummy token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "emulator",
        "clusters": [{"name": "emulator", "cluster": {"server": server.rstrip("/")}}],
        "users": [{"name": "emulator", "user": {"token": "emulator"}}],
        "contexts": [
            {
                "name": "emulator",
                "context": {"cluster": "emulator", "user": "emulator", "namespace": namespace},
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path
