"""Pod networking for the node agent, inside network namespaces the run makes.

Each pod gets a network namespace of its own (``ip netns add``) with nothing but ``lo``, so
two pods can both listen on 9090 or 3000 as they do on a cluster. Pod IPs come from
10.244.0.0/16, as a cluster's would (the API server refuses loopback addresses in
EndpointSlices), and exist only inside one more namespace made for the run, the node's
network: there the agent listens on each pod IP and port the pod declares or probes, and
forwards every connection into the pod's namespace to 127.0.0.1 on the same port. Probes
connect from the node's network; tests reach a pod IP through ``reach`` (a loopback port
of the host forwarded into the node's network, as ``kubectl port-forward`` is). The other
way, the ports the suite publishes (the API server, PostgreSQL, the Slack sandbox) are
listened on at 127.0.0.1 inside each pod's namespace and forwarded to the host's
127.0.0.1. The host itself only ever sees loopback traffic.

A socket belongs to the network namespace of the thread that created it, whatever thread
uses it later: sockets for a pod are made in a short-lived thread that first enters the
pod's namespace (setns(2)).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import ipaddress
import itertools
import os
import socket
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
POD_RANGE = ipaddress.ip_network("10.244.0.0/16")
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


def _in_namespace(path: Path, make: Callable[[], T]) -> T:
    """``make()`` run in a fresh thread that has entered the network namespace at ``path``."""
    result: Future[T] = Future()

    def enter_and_make() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
            finally:
                os.close(fd)
            result.set_result(make())
        except BaseException as error:  # handed to the caller
            result.set_exception(error)

    thread = threading.Thread(target=enter_and_make, name="netns", daemon=True)
    thread.start()
    thread.join()
    return result.result()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


def socket_in(path: Path) -> socket.socket:
    """A TCP socket of the network namespace at ``path`` (address reuse on, as listeners
    of pods that come and go on the same IPs need)."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock

    return _in_namespace(path, make)


def add_namespace(name: str) -> Path:
    """A new network namespace with its loopback up."""
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    except subprocess.CalledProcessError:
        remove_namespace(name)
        raise
    return NETNS_DIR / name


def remove_namespace(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


async def _connect_in(
    path: Path, address: tuple[str, int]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream to ``address`` as seen from the network namespace at ``path``."""
    sock = await asyncio.to_thread(socket_in, path)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, address)
    except OSError:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def _splice(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    await asyncio.gather(_pipe(client[0], upstream[1]), _pipe(upstream[0], client[1]))


Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class Forwarder:
    """An asyncio loop in a thread of its own that carries every forwarded connection."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="forwarder", daemon=True)
        self._thread.start()

    def serve(self, listener: socket.socket, connect: Connect) -> asyncio.Server:
        """Accept on ``listener`` (bound, in whatever namespace made it); splice each
        connection to the stream ``connect()`` opens."""
        listener.listen(128)
        listener.setblocking(False)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream = await connect()
            except OSError:
                writer.close()
                return
            await _splice((reader, writer), upstream)

        async def start() -> asyncio.Server:
            return await asyncio.start_server(handle, sock=listener)

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)

    def close(self, servers: Iterable[asyncio.Server]) -> None:
        """Close the listeners now (their addresses may be bound again right after)."""

        async def close_all() -> None:
            for server in servers:
                server.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


class NodeNetwork:
    """The node's own network namespace: the pod IPs live on its ``lo``."""

    def __init__(self, name: str, forwarder: Forwarder) -> None:
        self.name = name
        self.path = add_namespace(name)
        self._forwarder = forwarder
        self._reached: list[asyncio.Server] = []

    def add_address(self, ip: str) -> None:
        subprocess.run(["ip", "-n", self.name, "addr", "add", f"{ip}/32", "dev", "lo"], check=True)

    def remove_address(self, ip: str) -> None:
        subprocess.run(
            ["ip", "-n", self.name, "addr", "del", f"{ip}/32", "dev", "lo"], capture_output=True
        )

    def socket(self) -> socket.socket:
        return socket_in(self.path)

    def connect(self, address: tuple[str, int], timeout: float) -> socket.socket:
        """A connected socket to a pod IP, from the node's network (the kubelet's probes)."""
        sock = self.socket()
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock

    def reach(self, address: tuple[str, int]) -> tuple[str, int]:
        """A loopback address of the host that forwards to ``address`` in the node's
        network, as ``kubectl port-forward`` gives one."""
        listener = socket.socket(socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        self._reached.append(
            self._forwarder.serve(listener, lambda: _connect_in(self.path, address))
        )
        return "127.0.0.1", int(listener.getsockname()[1])

    def remove(self) -> None:
        self._forwarder.close(self._reached)
        remove_namespace(self.name)


class PodNetwork:
    """One pod's namespace, its IP and the listeners that forward in and out."""

    def __init__(self, name: str, ip: str, node: NodeNetwork, forwarder: Forwarder) -> None:
        self.name = name
        self.ip = ip
        self._node = node
        self._forwarder = forwarder
        self._servers: list[asyncio.Server] = []
        self.path = add_namespace(name)
        try:
            node.add_address(ip)
        except subprocess.CalledProcessError:
            remove_namespace(name)
            raise

    def publish_into(self, ports: Iterable[int]) -> None:
        """Listen on 127.0.0.1:PORT in the pod for each port, forwarding to the host's."""
        for port in ports:
            listener = socket_in(self.path)
            listener.bind(("127.0.0.1", port))
            connect = functools.partial(asyncio.open_connection, "127.0.0.1", port)
            self._servers.append(self._forwarder.serve(listener, connect))

    def expose(self, ports: Iterable[int]) -> None:
        """Listen on the pod's IP (in the node's network) for each port, forwarding into the
        pod's 127.0.0.1."""
        for port in sorted(set(ports)):
            listener = self._node.socket()
            listener.bind((self.ip, port))
            connect = functools.partial(_connect_in, self.path, ("127.0.0.1", port))
            self._servers.append(self._forwarder.serve(listener, connect))

    def remove(self) -> None:
        self._forwarder.close(self._servers)
        self._servers.clear()
        self._node.remove_address(self.ip)
        remove_namespace(self.name)


class AddressPool:
    """Pod IPs from 10.244.0.0/16: each handed out once until the range runs out, so a
    replacement pod never meets its predecessor's connections on the same address."""

    def __init__(self) -> None:
        self._hosts = itertools.islice(POD_RANGE.hosts(), 1, None)
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            return str(next(self._hosts))
