"""Apply `piiq queues pause|resume|scale` to this process's producers: read piiq_queues
when notified (on ``<prefix>.piiq_control``), every ``interval`` seconds anyway (workers
without LISTEN, a missed notification), and before the first fetch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg

from ._background import Background
from ._control import QueueControl
from ._log import get_logger
from ._producer import Producer
from ._queries import DB_ERRORS, DatabaseHealth
from ._signals import Signals

log = get_logger(__name__)


class Controller(Background):
    name = "controller"

    def __init__(
        self,
        read: Callable[[list[str]], Awaitable[list[tuple[Any, ...]]]],
        producers: Mapping[str, Producer],
        *,
        interval: float,
        on_change: Callable[[], None],
        prefix: str,
        health: DatabaseHealth,
        signals: Signals,
    ) -> None:
        self._read = read  # (name, paused, local_limit) rows of the given queues
        self._producers = producers
        self._interval = interval
        self._on_change = on_change  # a limit changed: the job threads may need to grow
        self._prefix = prefix
        self._health = health
        self._signals = signals
        self._news = asyncio.Event()
        self._table_missing = False

    def news(self) -> None:
        """A queue's control changed (a notification), or notifications may have been
        missed (the notifier reconnected): read the table now."""
        self._news.set()

    async def read(self) -> None:
        """Apply every producer's runtime state (paused, scaled) from piiq_queues."""
        try:
            rows = await self._read(list(self._producers))
        except psycopg.errors.UndefinedTable:
            if not self._table_missing:
                log.error(
                    "schema.needs_migrate",
                    prefix=self._prefix,
                    fix="run `piiq migrate`: without piiq_queues, `piiq queues pause|resume|"
                    "scale` cannot reach this worker",
                )
                self._table_missing = True
            self._signals.controls_read.emit(False)
            return
        self._table_missing = False
        controls = {name: QueueControl(paused, limit) for name, paused, limit in rows}
        changed = [
            producer.apply_control(controls.get(name, QueueControl()))
            for name, producer in self._producers.items()
        ]
        if any(changed):
            self._on_change()
        self._signals.controls_read.emit(True)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), self._interval)
            self._news.clear()
            try:
                await self.read()
            except DB_ERRORS as exc:
                await self._health.trouble("read_controls", exc)
