"""The cluster suite's kubelet: one Node, and the pods the real scheduler binds to it.

It does what a kubelet does, as far as piiq's pods need it:
- registers its Node with the node's own credentials (the Node authorizer and the
  NodeRestriction admission plugin judge every call) and renews its Lease;
- runs each container of a bound pod (runtimes.py) with the container's command line, its
  env resolved from values, Secrets, ConfigMaps and the downward API, its volumes
  (Secrets, ConfigMaps, emptyDir, the projected service account token) at their mount
  paths, in the pod's own network namespace (netns.py), with the in-cluster API address in
  KUBERNETES_SERVICE_*;
- runs readiness and liveness probes, restarts containers per restartPolicy with back-off,
  and reports pod status (phase, IPs, conditions, container states and restart counts);
- on graceful deletion sends SIGTERM, waits terminationGracePeriodSeconds, SIGKILLs, and
  removes the pod object; a force-deleted pod is killed at once;
- serves the kubelet's containerLogs endpoint over TLS, so ``kubectl logs`` goes through
  the API server exactly as on a cluster.

Containers run as podman containers of the image, or as local processes (runtimes.py); the
agent says which when it starts.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import http.server
import json
import logging
import os
import signal
import ssl
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cluster import pod_spec
from tests.support.cluster.kube_rest import Kube, KubeError
from tests.support.cluster.netns import AddressPool, Forwarder, NodeNetwork, PodNetwork
from tests.support.cluster.runtimes import Launch, Runtime

log = logging.getLogger("node-agent")
Manifest = dict[str, Any]
TICK = 0.25
MAX_BACKOFF = 10.0


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Container:
    spec: Manifest
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    launch: Launch | None = None
    restart_count: int = 0
    started_at: str | None = None
    terminated: Manifest | None = None  # the state of a container that exited
    last_state: Manifest | None = None
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    ready: bool = False
    probe_due: dict[str, float] = field(default_factory=dict)
    probe_streak: dict[str, int] = field(default_factory=dict)  # + successes / - failures
    backoff_until: float = 0.0
    backoff: float = 1.0

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def state(self) -> Manifest:
        if self.running:
            return {"running": {"startedAt": self.started_at}}
        if self.terminated is not None:
            return {"terminated": self.terminated}
        reason, message = self.waiting or ("ContainerCreating", "")
        return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


class PodRunner(threading.Thread):
    """One bound pod, from start to its removal."""

    def __init__(self, agent: NodeAgent, pod: Manifest) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod {meta['namespace']}/{meta['name']}", daemon=True)
        self.agent = agent
        self.pod = pod
        self.uid = meta["uid"]
        self.directory = agent.directory / "pods" / self.uid
        self.containers = {
            c["name"]: Container(c, self.directory / "logs" / f"{c['name']}.log")
            for c in pod["spec"]["containers"]
        }
        self.network: PodNetwork | None = None
        self.stopping = threading.Event()
        self.force_killed = threading.Event()
        self.deletion_seen_at: float | None = None
        self._last_status: Manifest | None = None
        self._transitions: dict[str, str | None] = {}
        self._started_at = now()

    @property
    def path(self) -> str:
        meta = self.pod["metadata"]
        return f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("%s: the node could not run it; trying again", self.name)
            self.stopping.set()  # forgotten below: the next sync starts it afresh
        finally:
            self._kill_all(0)
            if self.network is not None:
                self.network.remove()
            if self.stopping.is_set():  # deleted; a finished pod keeps its logs until then
                self.agent.forget(self)

    def _run(self) -> None:
        (self.directory / "logs").mkdir(parents=True, exist_ok=True)
        ip = self.agent.addresses.take()
        self.network = PodNetwork(
            f"piiq-{self.uid[:13]}", ip, self.agent.network, self.agent.forwarder
        )
        self.network.publish_into(self.agent.published_ports)
        self.network.expose(pod_spec.exposed_ports(self.pod))
        self.pod.setdefault("status", {})["podIP"] = ip
        volumes: dict[str, Path] | None = None
        while not self.stopping.is_set():
            if volumes is None:
                try:
                    volumes = pod_spec.materialise_volumes(
                        self.pod, self.directory / "volumes", self.agent.read, self.agent.token
                    )
                except (pod_spec.ConfigError, KubeError) as error:
                    for container in self.containers.values():
                        container.waiting = ("CreateContainerConfigError", str(error))
            if volumes is not None:
                for container in self.containers.values():
                    self._tend(container, volumes)
            self._report()
            if self._finished():
                return
            time.sleep(TICK)
        self._terminate()

    def _finished(self) -> bool:
        return all(c.terminated and not self._should_restart(c) for c in self.containers.values())

    def _should_restart(self, container: Container) -> bool:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        code = (container.terminated or {}).get("exitCode", 0)
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    def _terminate(self) -> None:
        grace = self.pod["metadata"].get("deletionGracePeriodSeconds")
        if grace is None:
            grace = self.pod["spec"].get("terminationGracePeriodSeconds", 30)
        self._kill_all(0 if self.force_killed.is_set() else float(grace))
        if self.force_killed.is_set():
            return
        self._report()
        try:  # the kubelet's last word: the pod object goes once its containers are gone
            self.agent.kube.delete(
                self.path,
                {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}},
            )
        except KubeError as error:
            if error.status not in (404, 409):
                log.warning("%s", error)

    def _kill_all(self, grace: float) -> None:
        running = [c for c in self.containers.values() if c.running]
        for container in running:
            _signal(container, signal.SIGTERM, self.agent.runtime)
        deadline = time.monotonic() + grace
        for container in running:
            assert container.process is not None
            try:
                container.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(container, signal.SIGKILL, self.agent.runtime)
                container.process.wait()
            self._exited(container)

    # -- containers -----------------------------------------------------------------------

    def _tend(self, container: Container, volumes: dict[str, Path]) -> None:
        if container.process is not None and not container.running:
            self._exited(container)
        if not container.running:
            if container.terminated and not self._should_restart(container):
                return
            if time.monotonic() < container.backoff_until:
                return
            self._start(container, volumes)
            return
        self._probe(container)

    def _exited(self, container: Container) -> None:
        assert container.process is not None
        code = container.process.returncode
        if code is None:
            return
        container.terminated = {
            "exitCode": code if code >= 0 else 128 - code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": container.started_at,
            "finishedAt": now(),
        }
        if code < 0:
            container.terminated["signal"] = -code
        container.process = None
        container.ready = False
        container.backoff_until = time.monotonic() + container.backoff
        container.backoff = min(MAX_BACKOFF, container.backoff * 2)

    def _start(self, container: Container, volumes: dict[str, Path]) -> None:
        assert self.network is not None
        try:
            env = pod_spec.environment(self.pod, container.spec, self.agent.read)
        except (pod_spec.ConfigError, KubeError) as error:
            container.waiting = ("CreateContainerConfigError", str(error))
            container.backoff_until = time.monotonic() + 1
            return
        if container.terminated is not None:
            container.last_state = {"terminated": container.terminated}
            container.restart_count += 1
            previous = container.log_path.with_suffix(".previous.log")
            if container.log_path.exists():
                container.log_path.replace(previous)
        host, port = self.agent.api_address
        env = {
            "HOSTNAME": self.pod["metadata"]["name"],
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": str(port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(port),
            **env,
        }
        name = f"piiq-{self.uid[:8]}-{container.name}-{container.restart_count}"
        container.launch = self.agent.runtime.launch(
            self.pod,
            container.spec,
            env,
            pod_spec.mounts(container.spec, volumes),
            self.network.path,
            name,
        )
        with container.log_path.open("ab") as out:
            container.process = subprocess.Popen(
                container.launch.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=container.launch.env,
                start_new_session=True,
            )
        container.started_at = now()
        container.terminated = None
        container.waiting = None
        container.probe_streak.clear()
        delay = {
            k: (container.spec.get(k) or {}).get("initialDelaySeconds", 0) for k in pod_spec.PROBES
        }
        container.probe_due = {k: time.monotonic() + v for k, v in delay.items()}
        container.ready = not container.spec.get("readinessProbe")

    def _probe(self, container: Container) -> None:
        for kind in pod_spec.PROBES:
            probe = container.spec.get(kind)
            if not probe or time.monotonic() < container.probe_due.get(kind, 0):
                continue
            container.probe_due[kind] = time.monotonic() + probe.get("periodSeconds", 10)
            ok = self._probe_once(container, probe)
            streak = container.probe_streak.get(kind, 0)
            streak = max(streak, 0) + 1 if ok else min(streak, 0) - 1
            container.probe_streak[kind] = streak
            if kind == "readinessProbe":
                if ok and streak >= probe.get("successThreshold", 1):
                    container.ready = True
                elif not ok and -streak >= probe.get("failureThreshold", 3):
                    container.ready = False
            elif not ok and -streak >= probe.get("failureThreshold", 3):
                log.info("%s: liveness failed, restarting %s", self.name, container.name)
                _signal(container, signal.SIGTERM, self.agent.runtime)
                assert container.process is not None
                try:
                    container.process.wait(
                        self.pod["spec"].get("terminationGracePeriodSeconds", 30)
                    )
                except subprocess.TimeoutExpired:
                    _signal(container, signal.SIGKILL, self.agent.runtime)
                    container.process.wait()
                self._exited(container)
                return

    def _probe_once(self, container: Container, probe: Manifest) -> bool:
        assert self.network is not None
        timeout = probe.get("timeoutSeconds", 1)
        try:
            if "httpGet" in probe:
                action = probe["httpGet"]
                port = pod_spec.port_number(container.spec, action["port"])
                connection = http.client.HTTPConnection(self.network.ip, port, timeout=timeout)
                connection.sock = self.agent.network.connect((self.network.ip, port), timeout)
                try:
                    connection.request("GET", action.get("path", "/"))
                    return 200 <= connection.getresponse().status < 400
                finally:
                    connection.close()
            if "tcpSocket" in probe:
                port = pod_spec.port_number(container.spec, probe["tcpSocket"]["port"])
                self.agent.network.connect((self.network.ip, port), timeout).close()
                return True
        except (OSError, http.client.HTTPException, pod_spec.ConfigError):
            return False
        return False

    # -- status ---------------------------------------------------------------------------

    def _status(self) -> Manifest:
        containers = list(self.containers.values())
        # Running once a container started, restarts and back-off included, as a kubelet says
        phase = "Running" if any(c.started_at for c in containers) else "Pending"
        if self._finished():
            codes = [(c.terminated or {}).get("exitCode", 1) for c in containers]
            phase = "Succeeded" if not any(codes) else "Failed"
        ready = phase == "Running" and all(c.ready for c in containers)
        started = any(c.started_at for c in containers)

        def condition(kind: str, value: bool) -> Manifest:
            return {"type": kind, "status": "True" if value else "False"}

        assert self.network is not None
        return {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": self.network.ip,
            "podIPs": [{"ip": self.network.ip}],
            "startTime": self._started_at,
            "conditions": [
                condition("PodReadyToStartContainers", True),
                condition("Initialized", True),
                condition("ContainersReady", ready),
                condition("Ready", ready),
            ],
            "containerStatuses": [
                {
                    "name": c.name,
                    "image": c.spec["image"],
                    "imageID": "",
                    "containerID": f"process://{c.process.pid}" if c.running and c.process else "",
                    "ready": c.ready,
                    "started": c.running,
                    "restartCount": c.restart_count,
                    "state": c.state(),
                    "lastState": c.last_state or {},
                }
                for c in containers
            ]
            if started or any(c.waiting for c in containers)
            else [],
        }

    def _report(self) -> None:
        status = self._status()
        if status == self._last_status or self.force_killed.is_set():
            return
        stamped = json.loads(json.dumps(status))
        before = {c["type"]: c for c in (self._last_status or {}).get("conditions", [])}
        for item in stamped["conditions"]:  # a condition's time moves only when it changes
            same = before.get(item["type"], {}).get("status") == item["status"]
            item["lastTransitionTime"] = self._transitions.get(item["type"]) if same else now()
            self._transitions[item["type"]] = item["lastTransitionTime"]
        try:
            self.agent.kube.patch(self.path + "/status", {"status": stamped})
            self._last_status = status
        except KubeError as error:
            if error.status == 404:
                self.force_killed.set()
                self.stopping.set()
            else:
                log.warning("%s", error)

    def log_file(self, container: str, previous: bool) -> Path | None:
        found = self.containers.get(container)
        if found is None:
            return None
        return found.log_path.with_suffix(".previous.log") if previous else found.log_path


def _signal(container: Container, sig: signal.Signals, runtime: Runtime) -> None:
    if container.process is not None and container.launch is not None:
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGKILL:
                runtime.kill(container.launch, container.process.pid)
            else:
                os.killpg(container.process.pid, sig)


class NodeAgent:
    """Registers the node, keeps a PodRunner per bound pod and serves their logs."""

    def __init__(
        self,
        *,
        kube: Kube,
        name: str,
        directory: Path,
        api_address: tuple[str, int],
        published_ports: list[int],
        serving_cert: Path,
        serving_key: Path,
        client_ca: Path,
        runtime: Runtime,
    ) -> None:
        self.kube = kube
        self.name = name
        self.directory = directory
        self.api_address = api_address
        self.published_ports = published_ports
        self.runtime = runtime
        self.addresses = AddressPool()
        self.forwarder = Forwarder()
        self.network = NodeNetwork(f"piiq-node-{os.getpid()}", self.forwarder)
        self.runners: dict[str, PodRunner] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.logs = LogServer(self, serving_cert, serving_key, client_ca)

    def read(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        try:
            obj = self.kube.get(f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        return pod_spec.secret_data(obj) if kind == "secrets" else dict(obj.get("data") or {})

    def token(self, pod: Manifest) -> str:
        meta = pod["metadata"]
        account = pod["spec"].get("serviceAccountName", "default")
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": 3607,
                "boundObjectRef": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
            },
        }
        answer = self.kube.post(
            f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token", request
        )
        return str(answer["status"]["token"])

    # -- the node -------------------------------------------------------------------------

    def register(self) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
        }
        try:
            self.kube.post("/api/v1/nodes", node)
        except KubeError as error:
            if error.status != 409:
                raise
        self._node_status()
        self._renew_lease()

    def _node_status(self) -> None:
        resources = {"cpu": "32", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        heartbeat = now()
        conditions = [
            {"type": kind, "status": "False", "reason": f"KubeletHas{ok}"}
            for kind, ok in (
                ("MemoryPressure", "SufficientMemory"),
                ("DiskPressure", "NoDiskPressure"),
                ("PIDPressure", "SufficientPID"),
            )
        ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]
        for item in conditions:
            item |= {"lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat}
        status = {
            "capacity": resources,
            "allocatable": resources,
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": self.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.logs.port}},
            "nodeInfo": {
                "machineID": "piiq-cluster-test",
                "systemUUID": "piiq-cluster-test",
                "bootID": "piiq-cluster-test",
                "kernelVersion": os.uname().release,
                "osImage": f"piiq node agent ({self.runtime.description})",
                "containerRuntimeVersion": "process://1",
                "kubeletVersion": "v1.36.0-piiq",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        self.kube.patch(f"/api/v1/nodes/{self.name}/status", {"status": status})

    def _renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": 40, "renewTime": micro_now()}
        try:
            self.kube.patch(path, {"spec": spec}, kind="merge")
        except KubeError as error:
            if error.status != 404:
                raise
            lease = {"metadata": {"name": self.name}, "spec": spec}
            self.kube.post(path.rsplit("/", 1)[0], lease)

    def _heartbeat(self) -> None:
        beats = 0
        while not self._stop.wait(5):
            beats += 1
            try:
                self._renew_lease()
                if beats % 6 == 0:
                    self._node_status()
            except (KubeError, OSError) as error:
                log.warning("heartbeat: %s", error)

    # -- pods -----------------------------------------------------------------------------

    def _sync(self) -> None:
        while not self._stop.is_set():
            try:
                listed = self.kube.get("/api/v1/pods", fieldSelector=f"spec.nodeName={self.name}")
                self._sync_once(listed["items"])
            except (KubeError, OSError) as error:
                log.warning("sync: %s", error)
            self._stop.wait(TICK)

    def _sync_once(self, pods: list[Manifest]) -> None:
        seen = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            with self._lock:
                runner = self.runners.get(uid)
            if runner is None:
                if pod["metadata"].get("deletionTimestamp"):
                    self._remove_pod_object(pod)
                elif pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                    runner = PodRunner(self, pod)
                    with self._lock:
                        self.runners[uid] = runner
                    runner.start()
            elif pod["metadata"].get("deletionTimestamp"):
                runner.pod["metadata"] = pod["metadata"]
                runner.stopping.set()
                if not runner.is_alive():  # finished before: only the object is left
                    self._remove_pod_object(pod)
                    self.forget(runner)
        with self._lock:
            gone = [r for uid, r in self.runners.items() if uid not in seen]
        for runner in gone:  # force-deleted: the object is gone, so are its containers
            runner.force_killed.set()
            runner.stopping.set()
            if not runner.is_alive():
                self.forget(runner)

    def _remove_pod_object(self, pod: Manifest) -> None:
        """The kubelet's last word on a pod with no running containers: remove it."""
        meta = pod["metadata"]
        with contextlib.suppress(KubeError):
            self.kube.delete(
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}},
            )

    def forget(self, runner: PodRunner) -> None:
        with self._lock:
            if self.runners.get(runner.uid) is runner:
                del self.runners[runner.uid]

    def reach(self, ip: str, port: int) -> str:
        """``host:port`` on the host's loopback that leads to a pod IP's port."""
        host, local = self.network.reach((ip, port))
        return f"{host}:{local}"

    def find(self, namespace: str, name: str) -> PodRunner | None:
        with self._lock:
            for runner in self.runners.values():
                meta = runner.pod["metadata"]
                if (meta["namespace"], meta["name"]) == (namespace, name):
                    return runner
        return None

    # -- start and stop -------------------------------------------------------------------

    def start(self) -> None:
        log.info("node agent: containers run as %s", self.runtime.description)
        self.logs.start()
        self.register()
        for target in (self._heartbeat, self._sync):
            thread = threading.Thread(target=target, name=target.__name__, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        with self._lock:
            runners = list(self.runners.values())
        for runner in runners:
            runner.force_killed.set()
            runner.stopping.set()
        for runner in runners:
            runner.join(40)
        self.logs.stop()
        self.network.remove()
        self.forwarder.stop()
        self.runtime.cleanup()


class LogServer:
    """The kubelet's ``/containerLogs/{namespace}/{pod}/{container}`` over TLS, asking the
    caller (the API server) for a client certificate from the cluster's CA."""

    def __init__(self, agent: NodeAgent, cert: Path, key: Path, client_ca: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        context.load_verify_locations(str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
        handler = _log_handler(agent)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _tail(data: bytes, lines: int | None) -> bytes:
    if lines is None:
        return data
    if lines == 0:
        return b""
    return b"".join(data.splitlines(keepends=True)[-lines:])


def _log_handler(agent: NodeAgent) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            parts = url.path.strip("/").split("/")
            if len(parts) != 4 or parts[0] != "containerLogs":
                return self._plain(404, b"not found\n")
            query = urllib.parse.parse_qs(url.query)
            runner = agent.find(parts[1], parts[2])
            previous = query.get("previous", ["false"])[0] == "true"
            path = runner.log_file(parts[3], previous) if runner else None
            if runner is None or path is None:
                return self._plain(404, f"pod {parts[1]}/{parts[2]} not on this node\n".encode())
            if previous and not path.exists():
                message = f'previous terminated container "{parts[3]}" not found\n'
                return self._plain(400, message.encode())
            raw = path.read_bytes() if path.exists() else b""
            data = _tail(raw, int(query["tailLines"][0]) if "tailLines" in query else None)
            if "limitBytes" in query:
                data = data[: int(query["limitBytes"][0])]
            if query.get("follow", ["false"])[0] != "true" or previous:
                return self._plain(200, data)
            self._follow(runner, parts[3], path, data, len(raw))

        def _follow(
            self, runner: PodRunner, container: str, path: Path, data: bytes, offset: int
        ) -> None:
            """Stream the log as it grows, until this run of the container ends (a
            restart starts a new log, as the kubelet's follow does)."""
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            process = runner.containers[container].process
            try:
                self._chunk(data)
                while True:
                    running = runner.is_alive() and runner.containers[container].process is process
                    with path.open("rb") as log_file:
                        log_file.seek(offset)
                        more = log_file.read()
                    offset += len(more)
                    self._chunk(more)
                    if not running:
                        break
                    time.sleep(0.2)
                self.wfile.write(b"0\r\n\r\n")
            except (OSError, ssl.SSLError):
                pass

        def _chunk(self, data: bytes) -> None:
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        def _plain(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
