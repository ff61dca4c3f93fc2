"""Tell the world this process is alive, so its jobs are never rescued from it.

A connection of its own, outside the pool: a busy pool cannot delay a heartbeat, and the
session lock it holds (lock_session.sql) lives exactly as long as this process's database
session: a rescuer that can take the lock knows the process is gone (see _rescuer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg

from ._background import Background
from ._log import get_logger
from ._queries import DB_ERRORS, Queries
from ._signals import Signals

log = get_logger(__name__)


class Heartbeat(Background):
    name = "heartbeat"

    def __init__(
        self, queries: Queries, *, queues: list[str], interval: float, signals: Signals
    ) -> None:
        self._queries = queries
        self._queues = queues
        self._interval = interval
        self._signals = signals
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def open(self) -> None:
        """Connect, take the session lock, then register: from the first fetch on, this
        process's jobs are known to be its own and the lock is held."""
        conn = self._conn
        if conn is not None and not conn.closed:
            return
        conn = await self._queries.connect("heartbeat")
        try:
            await self._queries.lock_session(conn)
            await self._queries.register(conn, self._queues, self._interval)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def run(self) -> None:
        """Beat every ``interval``. A lost connection (and with it the session lock) is
        replaced at once: rescuers try the lock only after two missed heartbeats."""
        pause = 0.0
        while True:
            await asyncio.sleep(pause or self._interval)
            try:
                await self.open()
                assert self._conn is not None
                if not await self._queries.beat(self._conn):
                    # our row was removed (forgotten as dead): announce ourselves again
                    await self._queries.register(self._conn, self._queues, self._interval)
                pause = 0.0
                self._signals.heartbeat.emit(None)
            except DB_ERRORS as exc:
                log.warning("worker.heartbeat_failed", error=type(exc).__name__)
                await self.close()
                pause = min(max(pause * 2, 0.05), self._interval)

    async def close(self) -> None:
        """End the session, and with it the lock (after the process's stop is recorded)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*DB_ERRORS):
                await conn.close()
