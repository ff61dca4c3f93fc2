"""SIEM receivers on 127.0.0.1 for the audit export tests: a webhook that checks the HMAC
signature as docs/audit.md tells receivers to (written here from the docs, not with
piiq's own code), and a Splunk HTTP Event Collector that checks the token and the event
envelope. Each runs in a thread with its own event loop, can be taken down (connection
refused) and brought up on the same port, and can be told to answer with an error."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

WEBHOOK_SECRET = "whsec-7f3c1e9a-audit-signing-secret"
HEC_TOKEN = "4f9d2c6e-11aa-4b7c-9e21-hec-token-0001"
HEC_PATH = "/services/collector/event"
MAX_SKEW_S = 300


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None = None


class SiemReceiver:
    """Base: the server, its faults and what it accepted (``events``, in arrival order)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.refused: list[str] = []  # why requests were refused (bad signature, token ...)
        self.requests = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._hanging = False
        self._released: asyncio.Event | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SiemReceiver:
        self._thread.start()
        self.up()
        return self

    def up(self) -> None:
        """Listen (again, on the same port after ``down``)."""
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def down(self) -> None:
        """Stop listening: connections are refused until ``up``."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None

    def fail(self, status: int, times: int = 1_000_000, retry_after: str | None = None) -> None:
        """The next ``times`` requests get ``status`` (and Retry-After when given)."""
        with self._lock:
            self._faults.append(Fault(status, times, retry_after))

    def hang(self) -> None:
        """Requests get no answer until ``heal`` (a SIEM that accepts and stalls)."""
        with self._lock:
            self._hanging = True

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()
            self._hanging = False
        if self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)

    def wait_for_events(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.events) >= count, within):
                raise AssertionError(f"{len(self.events)} events arrived, expected {count}")
            return list(self.events)

    def stop(self) -> None:
        self.heal()
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SiemReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.requests += 1
            fault = next((f for f in self._faults if f.times > 0), None)
            if fault is not None:
                fault.times -= 1
            hanging = self._hanging
        if hanging and self._released is not None:
            await self._released.wait()
            return web.json_response({"text": "too late"}, status=504)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return web.json_response({"text": "unavailable"}, status=fault.status, headers=headers)
        refusal = self.check(request, body)
        if refusal is not None:
            with self._lock:
                self.refused.append(refusal[1])
            return web.json_response({"text": refusal[1]}, status=refusal[0])
        events = self.parse(body)
        with self._arrived:
            self.bodies.append(body)
            self.events.extend(events)
            self._arrived.notify_all()
        return self.accepted()

    def check(self, request: web.Request, body: bytes) -> tuple[int, str] | None:
        raise NotImplementedError

    def parse(self, body: bytes) -> list[dict[str, Any]]:
        raise NotImplementedError

    def accepted(self) -> web.Response:
        return web.json_response({"ok": True})


class WebhookReceiver(SiemReceiver):
    """Verifies ``X-Piiq-Signature: v1=HEX`` = HMAC-SHA256(secret, "v1:" + timestamp + ":" +
    raw body) and a timestamp within five minutes, as docs/audit.md describes."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        super().__init__()
        self.secret = secret.encode()

    def check(self, request: web.Request, body: bytes) -> tuple[int, str] | None:
        timestamp = request.headers.get("X-Piiq-Timestamp", "")
        signature = request.headers.get("X-Piiq-Signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_S:
            return 401, "stale or missing timestamp"
        expected = (
            "v1="
            + hmac.new(
                self.secret, b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected, signature):
            return 401, "bad signature"
        if request.content_type != "application/json":
            return 415, "not JSON"
        return None

    def parse(self, body: bytes) -> list[dict[str, Any]]:
        return list(json.loads(body)["events"])


class HecReceiver(SiemReceiver):
    """Splunk HEC's /services/collector/event: ``Authorization: Splunk TOKEN``, a body of
    concatenated JSON envelopes each with ``event`` and the metadata keys; answers as
    Splunk does ({"text": "Success", "code": 0}; 401/403 with its codes)."""

    def __init__(self, token: str = HEC_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.envelopes: list[dict[str, Any]] = []

    def check(self, request: web.Request, body: bytes) -> tuple[int, str] | None:
        if request.path != HEC_PATH:
            return 404, f"not {HEC_PATH}"
        auth = request.headers.get("Authorization", "")
        if not auth:
            return 401, "Token is required"
        if auth != f"Splunk {self.token}":
            return 403, "Invalid token"
        return None

    def parse(self, body: bytes) -> list[dict[str, Any]]:
        decoder, text, at, envelopes = json.JSONDecoder(), body.decode(), 0, []
        while at < len(text):
            while at < len(text) and text[at].isspace():
                at += 1
            if at == len(text):
                break
            envelope, at = decoder.raw_decode(text, at)
            assert isinstance(envelope["time"], int | float), envelope
            assert {"host", "source", "sourcetype", "event"} <= envelope.keys(), envelope
            envelopes.append(envelope)
        self.envelopes.extend(envelopes)
        return [e["event"] for e in envelopes]

    def accepted(self) -> web.Response:
        return web.json_response({"text": "Success", "code": 0})
