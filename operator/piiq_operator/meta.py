"""What every child of a PIIQueue carries: its labels and its ownerReference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import API_VERSION, KIND, MANAGER

Manifest = dict[str, Any]
QUEUE_LABEL = "piiq.dev/queue"
COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"
METRICS_PORT = 9090  # /metrics, /healthz, /readyz of every long-running container
INGRESS_PORT = 3000  # the ingress's Events API, /healthz and /readyz


@dataclass(frozen=True)
class Owner:
    name: str
    namespace: str
    uid: str


def labels(owner: Owner, component: str, queue: str | None = None) -> dict[str, str]:
    result = {
        "app.kubernetes.io/name": "piiq",
        INSTANCE: owner.name,
        COMPONENT: component,
        "app.kubernetes.io/part-of": "piiq",
        "app.kubernetes.io/managed-by": MANAGER,
    }
    if queue is not None:
        result[QUEUE_LABEL] = queue
    return result


def metadata(owner: Owner, name: str, component: str, queue: str | None = None) -> Manifest:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels(owner, component, queue),
        "ownerReferences": [
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
