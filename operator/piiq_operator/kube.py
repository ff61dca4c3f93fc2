"""The operator's Kubernetes API calls: read Secrets and ConfigMaps, list, apply and delete
children.

Uses the official (blocking) client in worker threads, so the event loop keeps serving kopf.
Children are applied with server-side apply (field manager ``piiq-operator``, forced): one
idempotent PATCH creates a missing object or brings a drifted one back, and fields the
operator stops setting are removed, which a merge patch would leave behind.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kubernetes
import urllib3
from kubernetes.utils import parse_quantity

from . import MANAGER

Manifest = dict[str, Any]
ChildKey = tuple[str, str]  # (kind, name)

APPLY = "application/apply-patch+yaml"


class KubeError(Exception):
    """An API call failed; the message names the call, the HTTP status and, for a request the
    server refused (4xx), its reason (a validation message, never a Secret's data).

    ``status`` is the HTTP status, or None when the server was not reached.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def forbidden(self) -> bool:
        return self.status in (401, 403)


def _server_message(body: Any) -> str:
    """``message`` of the Status object in an error response body, or ''."""
    try:
        status = json.loads(body)
    except (TypeError, ValueError):
        return ""
    message = status.get("message") if isinstance(status, dict) else None
    return message if isinstance(message, str) else ""


def api_error(what: str, exc: kubernetes.client.ApiException) -> KubeError:
    """A KubeError for a failed call; a refused request (4xx) says what the server said."""
    text = f"{what} failed: HTTP {exc.status} {exc.reason}"
    refused = exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403)
    if refused and (detail := _server_message(exc.body)):
        text = f"{text}: {detail}"
    return KubeError(text, exc.status)


@dataclass(frozen=True)
class _Kind:
    api: str
    suffix: str


KINDS = {
    "Deployment": _Kind("apps", "namespaced_deployment"),
    "CronJob": _Kind("batch", "namespaced_cron_job"),
    "Service": _Kind("core", "namespaced_service"),
    "PodDisruptionBudget": _Kind("policy", "namespaced_pod_disruption_budget"),
    "NetworkPolicy": _Kind("networking", "namespaced_network_policy"),
}


def load_config() -> kubernetes.client.ApiClient:
    """In-cluster service account when there is one, else the kubeconfig."""
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=configuration)
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(client_configuration=configuration)
    return kubernetes.client.ApiClient(configuration)


class Kube:
    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self._apis: dict[str, Any] = {
            "apps": kubernetes.client.AppsV1Api(api_client),
            "batch": kubernetes.client.BatchV1Api(api_client),
            "core": kubernetes.client.CoreV1Api(api_client),
            "policy": kubernetes.client.PolicyV1Api(api_client),
            "networking": kubernetes.client.NetworkingV1Api(api_client),
        }

    def _method(self, verb: str, kind: str) -> Callable[..., Any]:
        spec = KINDS[kind]
        return getattr(self._apis[spec.api], f"{verb}_{spec.suffix}")

    async def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except kubernetes.client.ApiException as exc:
            raise api_error(what, exc) from None
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # unreachable, retries spent
            raise KubeError(f"{what} failed: {type(exc).__name__}") from None

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The Secret's data as bytes (a value need not be text), or None when it does not
        exist. Never log the result."""
        try:
            response = await self._call(
                f"reading Secret {namespace}/{name}",
                self._apis["core"].read_namespaced_secret,
                name,
                namespace,
                _preload_content=False,
            )
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
        data = json.loads(response.data).get("data") or {}
        return {key: base64.b64decode(value or "") for key, value in data.items()}

    async def read_configmap(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ConfigMap's keys and values (``binaryData`` values as their base64 text), or
        None when it does not exist."""
        found = await self._read_json(
            f"reading ConfigMap {namespace}/{name}",
            self._apis["core"].read_namespaced_config_map,
            namespace,
            name,
        )
        if found is None:
            return None
        return {**(found.get("binaryData") or {}), **(found.get("data") or {})}

    async def _read_json(
        self, what: str, fn: Callable[..., Any], namespace: str, name: str
    ) -> Manifest | None:
        """One object as a plain dict, or None when it does not exist."""
        try:
            response = await self._call(what, fn, name, namespace, _preload_content=False)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
        result: Manifest = json.loads(response.data)
        return result

    async def read(self, kind: str, namespace: str, name: str) -> Manifest | None:
        """One object of a managed kind as a plain dict, or None when it does not exist."""
        what = f"reading {kind} {namespace}/{name}"
        return await self._read_json(what, self._method("read", kind), namespace, name)

    async def list_children(
        self, namespace: str, owner_uid: str, instance: str
    ) -> dict[ChildKey, Manifest]:
        """Objects of the managed kinds controlled by the owner, as plain dicts."""
        selector = f"app.kubernetes.io/managed-by={MANAGER},app.kubernetes.io/instance={instance}"
        found: dict[ChildKey, Manifest] = {}
        for kind in KINDS:
            response = await self._call(
                f"listing {kind}s in {namespace}",
                self._method("list", kind),
                namespace,
                label_selector=selector,
                _preload_content=False,
            )
            listed = json.loads(response.data)
            for item in listed.get("items", []):
                refs = item.get("metadata", {}).get("ownerReferences") or []
                if any(r.get("uid") == owner_uid and r.get("controller") for r in refs):
                    # A list's items carry no kind or apiVersion of their own: without them
                    # no child would ever match its manifest, and each tick re-applied all.
                    item.setdefault("kind", kind)
                    item.setdefault("apiVersion", listed.get("apiVersion"))
                    found[kind, item["metadata"]["name"]] = item
        return found

    async def apply(self, manifest: Manifest) -> None:
        meta = manifest["metadata"]
        await self._call(
            f"applying {manifest['kind']} {meta['namespace']}/{meta['name']}",
            self._method("patch", manifest["kind"]),
            meta["name"],
            meta["namespace"],
            manifest,
            field_manager=MANAGER,
            force=True,
            _content_type=APPLY,
            _preload_content=False,
        )

    async def delete(self, kind: str, namespace: str, name: str) -> None:
        try:
            await self._call(
                f"deleting {kind} {namespace}/{name}",
                self._method("delete", kind),
                name,
                namespace,
                propagation_policy="Background",
                _preload_content=False,
            )
        except KubeError as exc:
            if exc.status != 404:
                raise


def _quantity(value: Any) -> Any:
    """``value`` as a resource quantity, or None when it is not one (bools never are)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return parse_quantity(value)
    except ValueError:
        return None


def _same_scalar(desired: Any, actual: Any) -> bool:
    if isinstance(desired, bool) or isinstance(actual, bool):
        return desired is actual  # True == 1 in Python, not in a manifest
    if desired == actual:
        return True
    if desired in (None, "") and actual in (None, ""):
        return True  # the server drops an empty string ({name: X, value: ""} comes back bare)
    mine, theirs = _quantity(desired), _quantity(actual)
    return mine is not None and mine == theirs  # cpu: 1 vs "1", "0.5" vs 500m, 1024Mi vs 1Gi


def matches(desired: Any, actual: Any) -> bool:
    """True when ``actual`` already has every value of ``desired``, as the server writes them
    back: server defaults aside, quantities normalised, empty strings dropped."""
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return actual is None and all(matches(v, None) for v in desired.values())
        return all(matches(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(actual, list):
            return not desired and actual is None
        return len(desired) == len(actual) and all(map(matches, desired, actual))
    return _same_scalar(desired, actual)
