"""Fixtures for the operator: the CRD, the Kubernetes emulator, the operator in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.operator.operator_helpers import CRD_PATH, Cluster, emulated_cluster, running_operator


@pytest.fixture(scope="session")
def crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_PATH.read_text())


@pytest.fixture(scope="session")
def crd_schema(crd: dict[str, Any]) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@pytest.fixture
async def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    async with emulated_cluster(tmp_path, monkeypatch) as result:
        yield result


@pytest.fixture
async def operator(cluster: Cluster) -> AsyncIterator[Cluster]:
    """The operator in this event loop, reconciling every 0.3 s, against ``cluster``."""
    async with running_operator():
        yield cluster
