"""Write job outcomes in batches: one UPDATE for many jobs (ack_jobs.sql).

Most outcomes ride along with the next fetch of their queue (``take``, then ``settle``):
one statement per cycle. Whatever is still waiting ``interval`` seconds after it was
added (a queue that ran dry, a full batch) is written by the acker itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ._log import get_logger
from ._outcome import Ack
from ._queries import DB_ERRORS, DatabaseHealth
from ._signals import Signals

log = get_logger(__name__)


class Acker:
    def __init__(
        self,
        write: Callable[[list[Ack]], Awaitable[int]],
        *,
        batch: int,
        interval: float,
        on_written: Callable[[], None],
        health: DatabaseHealth,
        signals: Signals,
    ) -> None:
        self._write = write  # returns how many were still executing under their lease
        self.batch = batch
        self.interval = interval
        self._on_written = on_written  # places in a global limit may have come free
        self._health = health
        self._signals = signals
        self.buffer: list[Ack] = []
        self.in_flight: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self.closing = False

    def add(self, ack: Ack) -> None:
        self.buffer.append(ack)
        if self._flushing is not None or self.closing:
            return  # the running write takes it, or the shutdown's last one
        if len(self.buffer) >= self.batch:
            self._write_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._write_soon)

    def take(self) -> list[Ack]:
        """Hand buffered outcomes to a fetch; ``settle`` them after it."""
        taken = self.buffer[: self.batch]
        del self.buffer[: len(taken)]
        self.in_flight.update(a.id for a in taken)
        if not self.buffer and self._timer is not None:
            self._timer.cancel()  # nothing left to write on our own
            self._timer = None
        return taken

    def settle(self, acks: list[Ack], *, written: bool) -> None:
        """After the statement that carried ``acks``: kept for a later write unless
        ``written`` (re-writing is harmless: ack_jobs.sql is guarded by the lease)."""
        if not acks:
            return
        self.in_flight.difference_update(a.id for a in acks)
        if written:
            if self._signals.acked.on:
                self._signals.acked.emit([a.id for a in acks])
        else:
            self.buffer[:0] = acks
            if self._timer is None and self._flushing is None and not self.closing:
                self._timer = asyncio.get_running_loop().call_later(self.interval, self._write_soon)

    def held_ids(self) -> set[int]:
        """Jobs whose outcome is not written yet."""
        return {a.id for a in self.buffer} | self.in_flight

    def _write_soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.buffer and self._flushing is None and not self.closing:
            self._flushing = asyncio.create_task(self._write_buffer(), name="acker")

    async def _write_buffer(self) -> None:
        try:
            await self.flush()
        finally:
            self._flushing = None
        if self.buffer and not self.closing:  # added meanwhile, or kept after an error
            self._write_soon()

    async def flush(self) -> bool:
        """Write everything buffered; on a database error keep it for the next try."""
        while self.buffer:
            batch = self.take()
            try:
                acked = await self._write(batch)
            except asyncio.CancelledError:
                self.settle(batch, written=False)
                raise
            except DB_ERRORS as exc:
                self.settle(batch, written=False)
                await self._health.trouble("ack", exc)
                return False
            self.settle(batch, written=True)
            self._on_written()
            if acked < len(batch):
                log.warning(
                    "jobs.ack_skipped",
                    count=len(batch) - acked,
                    reason="no longer executing under this attempt (rescued or handed back)",
                )
        return True

    async def stop(self, wait: float = 5.0) -> None:
        """Stop writing on our own: the write under way ends (``wait`` s at most); the
        runner's shutdown writes what is left with ``flush``."""
        self.closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = self._flushing
        if task is not None:
            _, pending = await asyncio.wait({task}, timeout=wait)
            for unfinished in pending:
                unfinished.cancel()
            await asyncio.wait({task})
