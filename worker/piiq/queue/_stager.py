"""Make due scheduled and retryable jobs available (stage_jobs.sql), every
``interval`` seconds, and wake the producers of the queues that got work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ._background import Background
from ._queries import DB_ERRORS, DatabaseHealth
from ._signals import Signals


class Stager(Background):
    name = "stager"

    def __init__(
        self,
        stage: Callable[[], Awaitable[dict[str, int]]],
        *,
        interval: float,
        on_staged: Callable[[str], None],
        health: DatabaseHealth,
        signals: Signals,
    ) -> None:
        self._stage = stage  # returns the jobs staged per queue
        self._interval = interval
        self._on_staged = on_staged
        self._health = health
        self._signals = signals

    async def run(self) -> None:
        while True:
            try:
                staged = await self._stage()
            except DB_ERRORS as exc:
                await self._health.trouble("stage", exc)
                continue
            for queue in staged:
                self._on_staged(queue)
            self._signals.staged.emit(staged)
            await asyncio.sleep(self._interval)
