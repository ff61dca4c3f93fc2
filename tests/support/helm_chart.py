"""The chart through the real Helm engine (helm-python-sdk 0.2.2, Helm's Go SDK v4 in a .so).

A small adapter so the tests do not depend on the engine's API in many places: render,
lint, schema checks and install. Swap the engine here if helm-python-sdk goes away.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native
from helm_python.config import _loads_obj, _opts

ROOT = Path(__file__).parents[2]
CHART = ROOT / "charts/piiq"
CRD_PATH = CHART / "crds/piiqueues.piiq.dev.yaml"
RELEASE, NAMESPACE = "piiq", "piiq"
HOOK = "helm.sh/hook"

Manifest = dict[str, Any]


def render_files(
    values: dict[str, Any] | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE
) -> dict[str, str]:
    """Template path -> rendered text, as ``helm template`` prints it (hooks included)."""
    with helm.Chart.load(CHART) as chart:
        return chart.render(values or {}, name=name, namespace=namespace, is_install=True)


def render(
    values: dict[str, Any] | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE
) -> list[Manifest]:
    """Every object the chart renders (its templates, hooks included; not crds/)."""
    files = render_files(values, name=name, namespace=namespace)
    return [
        obj
        for path, text in sorted(files.items())
        if path.endswith((".yaml", ".yml"))
        for obj in yaml.safe_load_all(text)
        if obj
    ]


def validate_values(values: dict[str, Any]) -> None:
    """Raises ``helm_python.HelmValuesError`` when values.schema.json refuses ``values``."""
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)


# Helm's INFO for a chart without an icon: piiq hosts none, and a placeholder URL is worse.
NO_ICON = {"severity": 1, "path": "Chart.yaml", "error": "icon is recommended"}


def lint(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """``helm lint --strict``; every message but the missing icon's INFO."""
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE)
    return {**report, "messages": [m for m in report["messages"] if m != NO_ICON]}


def install(kubeconfig: Path, values: dict[str, Any], *, name: str = RELEASE) -> dict[str, Any]:
    """``helm install`` into the cluster of ``kubeconfig`` (blocking: call it in a thread).

    Three concessions to the emulator: the release lives in the ``memory`` storage driver
    (the ``secret`` driver sends protobuf), OpenAPI validation is off (no /openapi/v2), and
    so the migration hook is too (``migrations.hook: false``): Helm validates hook objects
    against /openapi/v2 whatever the option says. Callers run the rendered hook Job
    themselves (tests/e2e). helm-python-sdk 0.2.2 does not expose
    ``disable_openapi_validation``; libhelm_c takes it, so this calls the native function as
    ``Config.install`` does, plus that option.
    """
    values = {**values, "migrations": {**values.get("migrations", {}), "hook": False}}
    with helm.Config(
        namespace=NAMESPACE, kubeconfig_path=str(kubeconfig), storage_driver="memory"
    ) as config:
        handle, ref = config._chart_args(str(CHART))
        payload = _native.call_string(
            "helm_install",
            config._raw(),
            config._context_arg(None),
            handle,
            ref,
            name,
            json.dumps(values),
            _opts(namespace=NAMESPACE, timeout_seconds=60, disable_openapi_validation=True),
        )
        return dict(_loads_obj(payload))


def is_hook(obj: Manifest) -> bool:
    return HOOK in ((obj.get("metadata") or {}).get("annotations") or {})


def hooks(objs: Iterable[Manifest], event: str) -> list[Manifest]:
    """The objects Helm runs on ``event`` (``test``, ``pre-install``, ...)."""
    return [
        o for o in objs if is_hook(o) and event in o["metadata"]["annotations"][HOOK].split(",")
    ]


def pod_spec(obj: Manifest) -> Manifest:
    """The pod spec of a Pod, Deployment, Job or CronJob."""
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def containers(objs: Iterable[Manifest]) -> list[tuple[Manifest, Manifest]]:
    """(object, container) for every container of every workload among ``objs``."""
    return [
        (obj, container)
        for obj in objs
        if obj["kind"] in ("Pod", "Deployment", "Job", "CronJob")
        for container in pod_spec(obj).get("containers", [])
    ]


def by_kind(objs: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objs if obj["kind"] == kind]


def crd_schema() -> Manifest:
    crd = yaml.safe_load(CRD_PATH.read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def operator_args(objs: Iterable[Manifest]) -> list[str]:
    """The args of the chart's operator container (its one Deployment)."""
    (deployment,) = by_kind(objs, "Deployment")
    return list(pod_spec(deployment)["containers"][0]["args"])


def flag_values(args: list[str], flag: str) -> list[str]:
    """Every value given to ``flag`` in ``args`` (``--flag value`` pairs)."""
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]
