"""A small JSON client of the Kubernetes API for the node agent and the suite's checks:
plain dicts in and out, a client certificate for who we are, errors that say what failed."""

from __future__ import annotations

import json
from typing import Any

import requests

Manifest = dict[str, Any]
PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


class KubeError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        try:
            message = json.loads(body).get("message", body)
        except ValueError:
            message = body
        super().__init__(f"{method} {path}: {status} {message}")


class Kube:
    def __init__(self, server: str, ca: str, cert: str, key: str) -> None:
        self.server = server.rstrip("/")
        self._session = requests.Session()
        self._session.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA
        self._session.verify = ca
        self._session.cert = (cert, key)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float = 30,
    ) -> Manifest:
        response = self._session.request(
            method,
            self.server + path,
            params=params,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": content_type, "Accept": "application/json"},
            timeout=timeout,
        )
        if response.status_code >= 400:
            raise KubeError(method, path, response.status_code, response.text)
        return response.json() if response.content else {}

    def get(self, path: str, **params: Any) -> Manifest:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Manifest) -> Manifest:
        return self.request("POST", path, body)

    def put(self, path: str, body: Manifest) -> Manifest:
        return self.request("PUT", path, body)

    def patch(self, path: str, body: Any, kind: str = "strategic") -> Manifest:
        return self.request("PATCH", path, body, content_type=PATCH_TYPES[kind])

    def delete(self, path: str, body: Manifest | None = None) -> Manifest:
        return self.request("DELETE", path, body)

    def close(self) -> None:
        self._session.close()
