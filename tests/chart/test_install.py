"""`helm install` with the real Helm engine into the Kubernetes API emulator (tests/support/
k8s_emulator.py): CRD first, then every template, with Helm's release labels."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.operator.operator_helpers import emulated_cluster
from tests.support.helm_chart import install

from .values_sets import QUICK_START

DEFAULT = "default"


async def test_helm_install_creates_every_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with emulated_cluster(tmp_path, monkeypatch) as cluster:
        release = await asyncio.to_thread(install, cluster.kubeconfig, QUICK_START)
        assert release["status"] == "deployed" and release["revision"] == 1, release
        names = {
            kind: cluster.names(resource)
            for kind, resource in {
                "crd": "apiextensions.k8s.io/v1/customresourcedefinitions",
                "sa": "v1/serviceaccounts",
                "clusterrole": "rbac.authorization.k8s.io/v1/clusterroles",
                "binding": "rbac.authorization.k8s.io/v1/clusterrolebindings",
                "deploy": "apps/v1/deployments",
                "secret": "v1/secrets",
                "piiq": "piiq.dev/v1alpha1/piiqueues",
                "pod": "v1/pods",
            }.items()
        }
        assert names == {
            "crd": {"piiqueues.piiq.dev"},
            "sa": {"piiq"},
            "clusterrole": {"piiq-operator"},
            "binding": {"piiq-operator"},
            "deploy": {"piiq-operator"},
            "secret": {"piiq-db", "piiq-slack"},
            "piiq": {"pii-detector"},
            "pod": set(),  # the test hook runs on `helm test`, not on install
        }
        operator = cluster.emulator.objects["apps/v1/deployments", "piiq", "piiq-operator"].raw
        assert operator["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert operator["metadata"]["annotations"]["meta.helm.sh/release-name"] == "piiq"
        listed = await asyncio.to_thread(
            subprocess.run,
            ["kubectl", "get", "piiq", "-n", "piiq", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert listed.stdout.split() == ["piiqueue.piiq.dev/pii-detector"], listed.stderr
