"""Give the jobs of dead workers back, in seconds, and never those of a live one.

Every ``interval`` seconds one pass of rescue_jobs.sql (see that file for the tests):

- the database session is the liveness signal: each worker holds a session advisory lock
  on its heartbeat connection (_heartbeat.py). When a worker has missed two heartbeats
  and this pass can take its lock, its session is gone (kill -9, OOM kill, lost node):
  its jobs are rescued at once. A worker that lives, however slow its jobs, holds its
  lock, and its jobs are never touched;
- the heartbeat is the fallback for a process that lives but hangs (its session holds
  the lock, its heartbeat stops): rescued after ``heartbeat_timeout``;
- and, when ``rescue_after`` is set, Oban's Lifeline: jobs executing longer than that
  whose worker is not a live piiq worker.

Rescued jobs with attempts left become available (their queue's producer is woken),
the others are discarded; each gets an error entry saying why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Unpack

from . import _telemetry
from ._background import MaintenancePasses, PassSettings
from ._log import get_logger
from ._maintenance import PassSummary, rescue_steps
from ._signals import Signals
from ._steps import Steps

log = get_logger(__name__)


class Rescuer(MaintenancePasses):
    name = "rescuer"

    def __init__(
        self,
        run_steps: Callable[[Steps[PassSummary]], Awaitable[PassSummary]],
        *,
        on_rescued: Callable[[str], None],
        signals: Signals,
        **passes: Unpack[PassSettings],
    ) -> None:
        super().__init__(run_steps, **passes)
        self._on_rescued = on_rescued  # a queue got jobs back
        self._signals = signals

    async def rescue(self) -> PassSummary:
        """One pass: rescue every orphaned job (in bounded batches)."""
        summary = await self._run_steps(rescue_steps(self._prefix, self._options))
        if summary.rescued or summary.discarded:
            log.warning(
                "jobs.rescued",
                rescued=summary.rescued,
                discarded=summary.discarded,
                by_queue=summary.rescued_by_queue,
                discarded_by_queue=summary.discarded_by_queue,
            )
            for state, by_queue in (
                ("available", summary.rescued_by_queue),
                ("discarded", summary.discarded_by_queue),
            ):
                for queue, count in by_queue.items():
                    _telemetry.emit("jobs.rescued", queue=queue, state=state, count=count)
            for queue in summary.rescued_by_queue:
                self._on_rescued(queue)
        self._signals.rescued.emit(summary)
        return summary

    one_pass = rescue
