"""How the node agent runs a container: as a podman container of the piiq image (when podman
works here and `make image` built the image), else as a local process of this environment's
``piiq`` with the same command line and env. Either way the container joins its pod's
network namespace and sees its volumes at their mount paths.

Podman honours the container's security context as a cluster's runtime does (its uid, a
read-only root, no new privileges, dropped capabilities). A local process runs as root in a
mount namespace of its own: the image's user exists only in the image.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tests.support.cluster import pod_spec

Manifest = dict[str, Any]

# Runs in the container's own mount namespace: every volume is first bound under a staging
# directory (a volume mounted on /tmp must not hide the sources of the next ones), then onto
# its mount path; then the command runs in its working directory.
LAUNCH = r"""
cd_to=$1; count=$2; shift 2
stage=/mnt/.piiq-pod-volumes  # STAGE
mkdir -p "$stage" && mount -t tmpfs tmpfs "$stage"
i=0
while [ "$i" -lt "$count" ]; do
  i=$((i + 1)); mkdir "$stage/$i"; mount --bind "$1" "$stage/$i"
  eval "target_$i=\$2 mode_$i=\$3"; shift 3
done
i=0
while [ "$i" -lt "$count" ]; do
  i=$((i + 1)); eval "target=\$target_$i mode=\$mode_$i"
  mkdir -p "$target" && mount --bind "$stage/$i" "$target"
  [ "$mode" = ro ] && mount -o remount,bind,ro "$target"
done
cd "$cd_to"
exec "$@"
"""


@dataclass(frozen=True)
class Launch:
    """What to start: the argv, its environment, and the name podman knows it by."""

    argv: list[str]
    env: dict[str, str]
    name: str = ""


class Runtime(Protocol):
    description: str

    def launch(
        self,
        pod: Manifest,
        container: Manifest,
        env: Mapping[str, str],
        mounts: list[pod_spec.Mount],
        netns: Path,
        name: str,
    ) -> Launch: ...

    def kill(self, launch: Launch, pid: int) -> None: ...

    def cleanup(self) -> None: ...


def _missing_top(path: Path) -> Path | None:
    """The highest ancestor of ``path`` (or itself) that does not exist yet."""
    top = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        top = candidate
    return top


STAGE = Path("/mnt/.piiq-pod-volumes")


class ProcessRuntime:
    """``keep`` are host directories the processes need (this environment and the source
    tree): bound back after the volumes, so an emptyDir on /tmp never hides a checkout or
    a venv that lives under /tmp."""

    def __init__(self, entrypoint: str, keep: tuple[Path, ...] = ()) -> None:
        self.entrypoint = entrypoint
        self.keep = [pod_spec.Mount(path, str(path), read_only=False) for path in keep]
        self.description = f"local processes of {entrypoint}, as root"
        # Mount points made on the host's disk (mounts are private, the directories are
        # not): removed again, if still empty, by cleanup().
        self._made: set[Path] = set()

    def launch(
        self,
        pod: Manifest,
        container: Manifest,
        env: Mapping[str, str],
        mounts: list[pod_spec.Mount],
        netns: Path,
        name: str,
    ) -> Launch:
        for target in (STAGE, *(Path(m.target) for m in mounts)):
            if top := _missing_top(target):
                self._made.add(top)
        argv = ["nsenter", f"--net={netns}", "unshare", "--mount", "--propagation", "private"]
        argv += ["--", "/bin/sh", "-c", LAUNCH, "launch"]
        mounts = [*mounts, *self.keep]
        argv += [container.get("workingDir", pod_spec.IMAGE_WORKDIR), str(len(mounts))]
        for mount in mounts:
            argv += [str(mount.source), mount.target, "ro" if mount.read_only else "rw"]
        argv += pod_spec.command(container, self.entrypoint)
        path = f"{Path(self.entrypoint).parent}:/usr/local/bin:/usr/bin:/bin"
        return Launch(argv, {"PATH": path, **pod_spec.IMAGE_ENV, **env})

    def kill(self, launch: Launch, pid: int) -> None:
        os.killpg(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        for top in self._made:
            for directory, _, _ in sorted(os.walk(top), key=lambda d: -len(d[0])):
                with contextlib.suppress(OSError):  # not empty: something else uses it
                    os.rmdir(directory)


def _security(pod: Manifest, container: Manifest) -> list[str]:
    """podman flags for the pod's and container's security contexts."""
    context = (pod["spec"].get("securityContext") or {}) | (container.get("securityContext") or {})
    flags = []
    if "runAsUser" in context:
        group = f":{context['runAsGroup']}" if "runAsGroup" in context else ""
        flags += ["--user", f"{context['runAsUser']}{group}"]
    if context.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    if context.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    for capability in (context.get("capabilities") or {}).get("drop") or []:
        flags += ["--cap-drop", capability.lower()]
    return flags


class PodmanRuntime:
    def __init__(self, image: str) -> None:
        self.description = f"podman containers of their images ({image} is here)"

    def launch(
        self,
        pod: Manifest,
        container: Manifest,
        env: Mapping[str, str],
        mounts: list[pod_spec.Mount],
        netns: Path,
        name: str,
    ) -> Launch:
        # podman forwards SIGTERM to the container (sig-proxy) and exits with its status;
        # env values come from podman's own environment (--env=NAME), never the argv.
        argv = ["podman", "run", "--rm", "--name", name, f"--network=ns:{netns}"]
        argv += ["--pull=never", "--log-driver=none", *_security(pod, container)]
        for mount in mounts:
            argv += [
                "--volume",
                f"{mount.source}:{mount.target}:{'ro' if mount.read_only else 'rw'}",
            ]
        if "workingDir" in container:
            argv += ["--workdir", container["workingDir"]]
        if container.get("command"):
            argv += ["--entrypoint", json.dumps(container["command"])]
        argv += [f"--env={key}" for key in env]
        argv += [container["image"], *(container.get("args") or [])]
        return Launch(argv, {**os.environ, **env}, name)

    def kill(self, launch: Launch, pid: int) -> None:
        # SIGKILL to the podman client would leave the container running
        subprocess.run(["podman", "kill", "--signal", "KILL", launch.name], capture_output=True)
        os.killpg(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        pass


def choose(image: str | None, entrypoint: str, keep: tuple[Path, ...] = ()) -> Runtime:
    """Podman when it runs here and holds ``image`` (``PIIQ_CLUSTER_RUNTIME=process`` or
    ``podman`` forces a choice), else local processes."""
    wanted = os.environ.get("PIIQ_CLUSTER_RUNTIME", "")
    if wanted == "process" or not image:
        return ProcessRuntime(entrypoint, keep)
    usable = shutil.which("podman") is not None and (
        subprocess.run(["podman", "image", "exists", image], capture_output=True).returncode == 0
    )
    if usable:
        return PodmanRuntime(image)
    if wanted == "podman":
        raise RuntimeError(f"PIIQ_CLUSTER_RUNTIME=podman, but podman has no image {image}")
    return ProcessRuntime(entrypoint, keep)
