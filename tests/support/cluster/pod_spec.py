"""What a kubelet reads out of a pod before it starts a container: the environment
(values, Secret and ConfigMap keys, the downward API), the volumes as host directories,
the command line after the image's ENTRYPOINT, and the probes' ports. Pure functions
over the pod manifest and a reader of Secrets and ConfigMaps."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]
# (kind "secrets" | "configmaps", namespace, name) -> the object's data as text, or None
DataReader = Callable[[str, str, str], dict[str, str] | None]
# (pod manifest) -> a service-account token bound to the pod
TokenIssuer = Callable[[Manifest], str]

IMAGE_ENTRYPOINT = ["piiq"]  # the Dockerfile's ENTRYPOINT
IMAGE_WORKDIR = "/tmp"  # and its WORKDIR
PROBES = ("readinessProbe", "livenessProbe")
IMAGE_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": "/tmp"}


class ConfigError(LookupError):
    """The container cannot start yet (the kubelet's CreateContainerConfigError)."""


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


def secret_data(obj: Manifest) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def _key(reader: DataReader, kind: str, namespace: str, ref: Manifest) -> str | None:
    data = reader(kind, namespace, ref["name"])
    singular = "Secret" if kind == "secrets" else "ConfigMap"
    if data is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{singular.lower()} "{ref["name"]}" not found')
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise ConfigError(f"couldn't find key {ref['key']} in {singular} {namespace}/{ref['name']}")
    return data[ref["key"]]


def _field(pod: Manifest, path: str) -> str:
    fields = {
        "metadata.name": pod["metadata"]["name"],
        "metadata.namespace": pod["metadata"]["namespace"],
        "metadata.uid": pod["metadata"]["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.podIP": pod.get("status", {}).get("podIP", ""),
        "status.hostIP": pod.get("status", {}).get("hostIP", ""),
    }
    return fields[path]


def environment(pod: Manifest, container: Manifest, reader: DataReader) -> dict[str, str]:
    """The container's env as the kubelet resolves it: envFrom first, then env in order."""
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, field in (("secrets", "secretRef"), ("configmaps", "configMapRef")):
            if field in source:
                data = reader(kind, namespace, source[field]["name"])
                if data is None and not source[field].get("optional"):
                    raise ConfigError(f"{kind[:-1]} {source[field]['name']!r} not found")
                env |= {prefix + k: v for k, v in (data or {}).items()}
    for item in container.get("env") or []:
        source = item.get("valueFrom")
        value: str | None
        if source is None:
            value = item.get("value", "")
        elif "secretKeyRef" in source:
            value = _key(reader, "secrets", namespace, source["secretKeyRef"])
        elif "configMapKeyRef" in source:
            value = _key(reader, "configmaps", namespace, source["configMapKeyRef"])
        elif "fieldRef" in source:
            value = _field(pod, source["fieldRef"]["fieldPath"])
        else:
            raise ConfigError(f"env {item['name']}: unsupported source {sorted(source)}")
        if value is not None:
            env[item["name"]] = value
    return env


def command(container: Manifest, entrypoint_binary: str) -> list[str]:
    """The command line: ``command`` replaces the image's ENTRYPOINT, ``args`` its CMD."""
    if container.get("command"):
        argv = list(container["command"]) + list(container.get("args") or [])
    else:
        argv = IMAGE_ENTRYPOINT + list(container.get("args") or ["--help"])
    if argv[0] == IMAGE_ENTRYPOINT[0]:
        argv[0] = entrypoint_binary
    return argv


def _write_files(directory: Path, files: dict[str, str], mode: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)


def _projected(
    pod: Manifest, volume: Manifest, reader: DataReader, issue_token: TokenIssuer
) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    files: dict[str, str] = {}
    for source in volume["projected"]["sources"]:
        if "serviceAccountToken" in source:
            files[source["serviceAccountToken"]["path"]] = issue_token(pod)
        elif "configMap" in source or "secret" in source:
            kind = "configmaps" if "configMap" in source else "secrets"
            ref = source.get("configMap") or source["secret"]
            data = reader(kind, namespace, ref["name"]) or {}
            items = ref.get("items") or [{"key": k, "path": k} for k in data]
            files |= {item["path"]: data[item["key"]] for item in items if item["key"] in data}
        elif "downwardAPI" in source:
            for item in source["downwardAPI"]["items"]:
                files[item["path"]] = _field(pod, item["fieldRef"]["fieldPath"])
    return files


def materialise_volumes(
    pod: Manifest, directory: Path, reader: DataReader, issue_token: TokenIssuer
) -> dict[str, Path]:
    """Each of the pod's volumes as a host directory under ``directory``."""
    namespace = pod["metadata"]["namespace"]
    found: dict[str, Path] = {}
    for volume in pod["spec"].get("volumes") or []:
        path = directory / volume["name"]
        if "emptyDir" in volume:
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o1777)
        elif "secret" in volume or "configMap" in volume:
            kind = "secrets" if "secret" in volume else "configmaps"
            ref = volume.get("secret") or volume["configMap"]
            name = ref.get("secretName") or ref.get("name")
            data = reader(kind, namespace, name)
            if data is None and not ref.get("optional"):
                raise ConfigError(f'{kind[:-1]} "{name}" not found')
            items = ref.get("items") or [{"key": k, "path": k} for k in data or {}]
            shutil.rmtree(path, ignore_errors=True)
            _write_files(
                path,
                {i["path"]: (data or {})[i["key"]] for i in items if i["key"] in (data or {})},
                ref.get("defaultMode", 0o644),
            )
        elif "projected" in volume:
            shutil.rmtree(path, ignore_errors=True)
            _write_files(
                path,
                _projected(pod, volume, reader, issue_token),
                volume["projected"].get("defaultMode", 0o644),
            )
        else:
            raise ConfigError(f"volume {volume['name']}: unsupported type")
        found[volume["name"]] = path
    return found


def mounts(container: Manifest, volumes: dict[str, Path]) -> list[Mount]:
    return [
        Mount(
            volumes[m["name"]] / m.get("subPath", ""),
            m["mountPath"],
            bool(m.get("readOnly")),
        )
        for m in container.get("volumeMounts") or []
    ]


def port_number(container: Manifest, port: int | str) -> int:
    """A port given by number or by the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ConfigError(f"port {port!r} is not a port of container {container['name']}")


def exposed_ports(pod: Manifest) -> set[int]:
    """Every port reachable on the pod's IP: declared ports and the probes' ports."""
    ports: set[int] = set()
    for container in pod["spec"]["containers"]:
        ports |= {int(p["containerPort"]) for p in container.get("ports") or []}
        for probe in (container.get(k) for k in PROBES):
            action = (probe or {}).get("httpGet") or (probe or {}).get("tcpSocket")
            if action:
                ports.add(port_number(container, action["port"]))
    return ports
