"""The Slack sandbox with a gate: calls to a held method wait until released.

Lets the test catch workers mid-job deterministically: a message job that reached
``chat.delete`` is executing, and stays so until the gate opens (no sleeps, no timing
luck). A slowed method answers each call only after a fixed time: a steady stream of
jobs that each take that long. Everything else is the sandbox unchanged.
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from piiq.sandbox import SlackSandbox

GATE_TIMEOUT = 60.0  # a forgotten gate opens by itself: the test cannot hang on it


class GatedSlackSandbox(SlackSandbox):
    def __init__(self) -> None:
        super().__init__()
        self._held: set[str] = set()
        self._slowed: dict[str, float] = {}
        self._open = threading.Event()
        self._open.set()
        self._waiting = 0
        self._count_lock = threading.Lock()

    def hold(self, method: str) -> None:
        self._held.add(method)
        self._open.clear()

    def slow(self, method: str, seconds: float) -> None:
        """Every call of ``method`` is answered ``seconds`` late (0: at once again)."""
        self._slowed[method] = seconds

    def release(self) -> None:
        self._held.clear()
        self._open.set()

    @property
    def waiting(self) -> int:
        """Calls of a held method waiting at the gate now."""
        with self._count_lock:
            return self._waiting

    async def _api(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self._slowed.get(request.match_info["method"], 0))
        if request.match_info["method"] in self._held:
            # Read the body first: a caller killed at the gate still reached Slack, as a
            # request whose answer was lost does.
            await request.read()
            with self._count_lock:
                self._waiting += 1
            try:
                await asyncio.to_thread(self._open.wait, GATE_TIMEOUT)
            finally:
                with self._count_lock:
                    self._waiting -= 1
        return await super()._api(request)
