"""The start/stop every background part of the runner shares: one task running ``run``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypedDict

from ._log import get_logger, where_raised
from ._maintenance import MaintenanceOptions, PassSummary
from ._queries import DB_ERRORS
from ._steps import Steps

log = get_logger(__name__)


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
        if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
            # The type and the place, not the message: it may quote a job's args.
            error, at = type(exc).__name__, where_raised(exc)
            log.error("worker.part_failed", part=self.name, error=error, at=at)


class PassSettings(TypedDict):
    """What every maintenance part is given (a subclass passes them on as ``**passes``)."""

    prefix: str
    options: MaintenanceOptions
    interval: float


class MaintenancePasses(Background):
    """A part that runs a maintenance pass (_maintenance.py's steps, on the runner's pool)
    every ``interval`` seconds; a database error is logged and the next pass tries again."""

    def __init__(
        self,
        run_steps: Callable[[Steps[PassSummary]], Awaitable[PassSummary]],
        *,
        prefix: str,
        options: MaintenanceOptions,
        interval: float,
    ) -> None:
        self._run_steps = run_steps
        self._prefix = prefix
        self._options = options
        self._interval = interval

    async def one_pass(self) -> PassSummary:
        raise NotImplementedError

    async def run(self) -> None:
        while True:
            try:
                await self.one_pass()
            except DB_ERRORS as exc:
                log.warning("maintenance.failed", part=self.name, error=type(exc).__name__)
            await asyncio.sleep(self._interval)
