"""In-process Pruner (off by default: pruning usually runs in the maintenance CronJob):
delete finished jobs past their age every ``interval`` seconds, in bounded batches."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from ._background import Background
from ._queries import DB_ERRORS
from .maintenance import MaintenanceOptions, PassSummary, prune_steps
from .steps import Steps

log = structlog.get_logger("piiq.queue")


class Pruner(Background):
    name = "pruner"

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

    async def run(self) -> None:
        while True:
            try:
                pruned = await self._run_steps(prune_steps(self._prefix, self._options))
                if any(pruned.pruned.values()):
                    log.info("jobs.pruned", **pruned.pruned)
            except DB_ERRORS as exc:
                log.warning("maintenance.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval)

    @staticmethod
    def wanted(options: MaintenanceOptions) -> bool:
        return options.prune_max_age is not None or bool(options.prune_max_age_by_state)
