"""Periodic jobs (Oban's Cron plugin): at each tick (a new minute on the clock) insert
the crontab's due jobs once; a failed insert is retried while the minute lasts (a later
tick is its own). Every runner with the crontab does this; the tick's unique key lets
one job per (entry, tick) in (see cron.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from . import _telemetry
from ._background import Background
from ._cron import CronEntry, due_jobs, seconds_to_next_tick, tick_of
from ._job import Job
from ._log import get_logger
from ._queries import DB_ERRORS
from ._signals import Signals
from ._worker import resolve_worker

log = get_logger(__name__)


class Periodic(Background):
    name = "cron"

    def __init__(
        self,
        crontab: Sequence[CronEntry],
        *,
        insert: Callable[[list[Job]], Awaitable[list[Job]]],
        clock: Callable[[], datetime],
        interval: float,
        signals: Signals,
    ) -> None:
        self.crontab = crontab
        self._insert = insert  # returns the jobs as stored (``conflict``: one was there)
        self._clock = clock  # UTC now (tests inject their own)
        self._interval = interval  # how often the clock is read (no database query)
        self._signals = signals
        self.inserted = 0  # jobs inserted here (not those another runner inserted first)
        self.tick: datetime | None = None  # the last tick evaluated

    async def evaluate(self, tick: datetime) -> list[Job]:
        """Insert the crontab's jobs due at ``tick``; returns them as stored."""
        jobs = due_jobs(self.crontab, tick, resolve_worker)
        if not jobs:
            return []
        stored = await self._insert(jobs)
        inserted = [job for job in stored if not job.conflict]
        self.inserted += len(inserted)
        for job in inserted:
            _telemetry.emit("cron.inserted", queue=job.queue, worker=job.worker)
        log.info(
            "cron.evaluated",
            tick=tick.isoformat(),
            inserted=[job.worker for job in inserted],
            already_inserted=[job.worker for job in stored if job.conflict],
        )
        return stored

    async def run(self) -> None:
        while True:
            tick = tick_of(self._clock())
            if tick != self.tick:
                try:
                    await self.evaluate(tick)
                    self.tick = tick
                except DB_ERRORS as exc:  # retried at the next look at the clock
                    log.warning("cron.failed", tick=tick.isoformat(), error=type(exc).__name__)
                except Exception as exc:  # not retried: it would fail the same way
                    log.error("cron.failed", tick=tick.isoformat(), error=repr(exc)[:500])
                    self.tick = tick
                self._signals.cron_evaluated.emit(tick)
            wait = seconds_to_next_tick(self._clock())
            await asyncio.sleep(max(0.0, min(self._interval, wait)))
