"""Slack's side of Socket Mode: the WebSocket an app opens (after apps.connections.open),
a hello, event envelopes pushed to it, and the acks it sends back."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

from aiohttp import WSMsgType, web


class SocketMode:
    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._outbox: list[dict[str, Any]] = []
        self.acks: list[str] = []  # envelope ids the app acknowledged

    def push(self, envelope: dict[str, Any]) -> str:
        """Send ``envelope`` over Socket Mode to a connected app; returns its envelope_id."""
        envelope_id = uuid.uuid4().hex
        frame = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": envelope,
        }
        with self._lock:
            self._outbox.append(frame)
        return envelope_id

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PIIQ"}}
        await ws.send_str(json.dumps(hello))

        async def send_outbox() -> None:
            while not ws.closed:
                with self._lock:
                    frames, self._outbox = self._outbox, []
                for frame in frames:
                    await ws.send_str(json.dumps(frame))
                await asyncio.sleep(0.05)

        sender = asyncio.create_task(send_outbox())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    envelope_id = json.loads(message.data).get("envelope_id")
                    if envelope_id:
                        with self._lock:
                            self.acks.append(envelope_id)
        finally:
            sender.cancel()
        return ws
