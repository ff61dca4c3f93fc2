"""The operator's Kubernetes API calls: read Secrets, list, apply and delete children.

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

from . import MANAGER

Manifest = dict[str, Any]
ChildKey = tuple[str, str]  # (kind, name)

APPLY = "application/apply-patch+yaml"


class KubeError(Exception):
    """An API call failed; the message names the call and the HTTP status, not the body."""


@dataclass(frozen=True)
class _Kind:
    api: str
    suffix: str


KINDS = {
    "Deployment": _Kind("apps", "namespaced_deployment"),
    "CronJob": _Kind("batch", "namespaced_cron_job"),
    "Service": _Kind("core", "namespaced_service"),
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
        self._apis = {
            "apps": kubernetes.client.AppsV1Api(api_client),
            "batch": kubernetes.client.BatchV1Api(api_client),
            "core": kubernetes.client.CoreV1Api(api_client),
        }

    def _method(self, verb: str, kind: str) -> Callable[..., Any]:
        spec = KINDS[kind]
        return getattr(self._apis[spec.api], f"{verb}_{spec.suffix}")

    async def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except kubernetes.client.ApiException as exc:
            raise KubeError(f"{what} failed: HTTP {exc.status} {exc.reason}") from None
        except OSError as exc:  # urllib3 connection errors derive from it
            raise KubeError(f"{what} failed: {type(exc).__name__}") from None

    async def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's decoded data, or None when it does not exist. Never log the result."""
        core = self._apis["core"]
        try:
            secret = await asyncio.to_thread(core.read_namespaced_secret, name, namespace)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError(
                f"reading Secret {namespace}/{name} failed: HTTP {exc.status}"
            ) from None
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

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
            for item in json.loads(response.data).get("items", []):
                refs = item.get("metadata", {}).get("ownerReferences") or []
                if any(r.get("uid") == owner_uid and r.get("controller") for r in refs):
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
            if "HTTP 404" not in str(exc):
                raise


def matches(desired: Any, actual: Any) -> bool:
    """True when ``actual`` already has every value of ``desired`` (server defaults aside)."""
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return not desired and actual is None
        return all(matches(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(actual, list):
            return not desired and actual is None
        return len(desired) == len(actual) and all(map(matches, desired, actual))
    return desired == actual
