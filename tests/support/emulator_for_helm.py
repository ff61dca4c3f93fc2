"""Two fixes the Kubernetes emulator needs before Helm (client-go) can install into it.

Applied with ``monkeypatch`` for one test, so ``tests/support/k8s_emulator.py`` stays as
the operator tests know it (both belong there; see docs/kubernetes.md):

* ``/version`` reports a current Kubernetes: kmock 0.8 says v1.26.4+k3s1, below the chart's
  ``kubeVersion``, which Helm enforces on install;
* ``/api/v1`` names its group version ``v1``: kmock says ``/v1``, so client-go's REST mapper
  finds no core kinds ("no matches for kind Secret in version v1"; kubectl's "the server
  doesn't have a resource type secrets" is the same bug).
"""

from __future__ import annotations

from typing import Any

import pytest
from k8s_emulator import RealisticEmulator


def fix_emulator_for_helm(monkeypatch: pytest.MonkeyPatch, version: str = "1.32.4") -> None:
    major, minor, _ = version.split(".")
    serve_group_version = RealisticEmulator._serve_version

    async def serve_server_version(self: RealisticEmulator, request: Any) -> dict[str, str]:
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{version}",
            "gitTreeState": "clean",
            "platform": "linux/amd64",
        }

    async def serve_version(self: RealisticEmulator, request: Any) -> Any:
        result = await serve_group_version(self, request)
        if isinstance(result, dict) and result.get("groupVersion") == "/v1":
            result["groupVersion"] = "v1"
        return result

    monkeypatch.setattr(RealisticEmulator, "_serve_server_version", serve_server_version)
    monkeypatch.setattr(RealisticEmulator, "_serve_version", serve_version)
