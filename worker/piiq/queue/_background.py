"""The start/stop every background part of the runner shares: one task running ``run``."""

from __future__ import annotations

import asyncio

import structlog

log = structlog.get_logger("piiq.queue")


class Background:
    """A part of the runner that works in a task of its own until stopped."""

    name = "part"
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def run(self) -> None:
        raise NotImplementedError

    async def stop(self, wait: float = 5.0) -> None:
        """Cancel the task and wait for it, ``wait`` s at most (a part stuck in a call
        cannot hold up the shutdown)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task}, timeout=wait)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("worker.part_failed", part=self.name, error=repr(task.exception())[:500])
