"""Lease and start the jobs of one queue: never more than ``limit`` at a time in this
process, nor more than ``global_limit`` executing over every process.

The producer fetches as many jobs as it has free slots, in one statement that also
writes the outcomes waiting in the acker, when woken by a notification (an insert, a
staged job, a rescue), by a job of its own finishing while more work may wait, or by
the poll timer. Up to ``parallel_fetches`` fetches run at once, each for the slots free
when it started.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from . import _telemetry
from ._acker import Acker
from ._background import Background
from ._control import QueueControl
from ._execution import Execution
from ._job import Job
from ._log import get_logger
from ._outcome import Ack
from ._queries import DB_ERRORS, DatabaseHealth, Queries
from ._signals import Fetched, Signals

if TYPE_CHECKING:
    from ._options import QueueLimits, RunnerOptions

log = get_logger(__name__)


class Producer(Background):
    def __init__(
        self,
        queue: str,
        limits: QueueLimits,
        options: RunnerOptions,
        *,
        queries: Queries,
        acker: Acker,
        execution: Execution,
        health: DatabaseHealth,
        signals: Signals,
    ) -> None:
        self.name = f"producer:{queue}"
        self.queue = queue
        self.limit = limits.limit
        self.configured_limit = limits.limit  # the --queue limit; `piiq queues scale` overrides it
        self.global_limit = limits.global_limit
        self.paused = False  # `piiq queues pause`: no fetch until resumed
        # The last fetch took fewer jobs than it wanted because of the global limit: a job
        # of ours finishing frees a place in it, so fetch again then.
        self.capped = False
        self.running: dict[int, asyncio.Future[Ack]] = {}
        self.wakeup = asyncio.Event()
        self.stopping = False
        self._options = options
        self._queries = queries
        self._acker = acker
        self._execution = execution
        self._health = health
        self._signals = signals
        self._maybe_more = True
        self._notices = 0
        self._freed = 0  # place_freed calls
        # "hand_back" after a failed fetch (its jobs may be leased, never started: the
        # attempt is given back); "rescue" for the periodic check (see reconcile_jobs.sql).
        self.needs_reconcile: str | None = None
        self._reserved = 0  # slots promised to fetches in flight
        self._fetching = 0
        self._fetches: set[asyncio.Task[None]] = set()
        self._checks: asyncio.Task[None] | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.wakeup.set()  # look for work at once, not at the first poll
        super().start()
        self._checks = asyncio.create_task(self._check_leases_loop(), name=f"leases:{self.queue}")

    async def stop_fetching(self) -> None:
        """Fetch no more; the fetches under way end and start their jobs (``running``)."""
        self.stopping = True
        self.wakeup.set()
        if self._checks is not None:
            self._checks.cancel()
        tasks = [t for t in (self._task, self._checks) if t is not None]
        await asyncio.gather(*tasks, *self._fetches, return_exceptions=True)

    # Being told ----------------------------------------------------------------------------

    def notify(self) -> None:
        """Work may be available (an insert, staging, a rescue, a reconnect)."""
        self._maybe_more = True
        self._notices += 1
        self.wakeup.set()

    def place_freed(self) -> None:
        """A job of ours finished or its outcome was written: when the global limit cut
        the last fetch short, there may be room again."""
        self._freed += 1
        if self.capped:
            self._maybe_more = True
            self.wakeup.set()

    def apply_control(self, control: QueueControl) -> bool:
        """Take the queue's runtime state (`piiq queues pause|resume|scale`); True when it
        changed anything."""
        limit = control.local_limit or self.configured_limit
        if (control.paused, limit) == (self.paused, self.limit):
            return False
        resumed = self.paused and not control.paused
        more = limit > self.limit
        self.paused, self.limit = control.paused, limit
        log.info("queue.control", queue=self.queue, paused=control.paused, limit=limit)
        self.emit_control()
        if resumed or more:
            self.notify()
        return True

    def emit_control(self) -> None:
        _telemetry.emit(
            "queue.control",
            queue=self.queue,
            paused=self.paused,
            limit=self.limit,
            global_limit=self.global_limit,
        )

    def stop_requested(self) -> bool:
        """``stopping``, read anew (mypy keeps an attribute narrowed across an ``await``)."""
        return self.stopping

    # Fetching ----------------------------------------------------------------------------

    async def run(self) -> None:
        options = self._options
        while not self.stopping:
            if not self.wakeup.is_set():
                try:  # (asyncio.timeout: no task per wait, as wait_for makes in 3.11)
                    async with asyncio.timeout(options.poll_interval):
                        await self.wakeup.wait()
                except TimeoutError:
                    self._maybe_more = True
            self.wakeup.clear()
            if self.stop_requested():  # stop() sets the wake-up too
                break
            # Yield once, so jobs finishing in the same tick free their slots first.
            await asyncio.sleep(options.dispatch_cooldown)
            if self.needs_reconcile:
                if self._fetching:
                    continue  # reconcile only with no fetch in flight (see _reconcile)
                await self._reconcile()
                continue
            if not self._start_fetches() and self._signals.skipped.on:
                self._signals.skipped.emit((self.queue, self._why_not()))

    def _start_fetches(self) -> int:
        """Start fetches for the free slots (within ``parallel_fetches``); how many."""
        started = 0
        while (
            self._maybe_more and not self.paused and self._fetching < self._options.parallel_fetches
        ):
            demand = self.limit - len(self.running) - self._reserved
            if demand <= 0:
                break
            self._reserved += demand
            self._fetching += 1
            started += 1
            fetch = asyncio.create_task(self._fetch(demand))
            self._fetches.add(fetch)
            fetch.add_done_callback(self._fetches.discard)
        return started

    def _why_not(self) -> str:
        """Why a wake-up started no fetch (for the tests' signal)."""
        if self.paused:
            return "paused"
        if not self._maybe_more:
            return "no work"
        if self._fetching >= self._options.parallel_fetches:
            return "fetching"
        return "full"

    async def _fetch(self, demand: int) -> None:
        """Lease up to ``demand`` jobs and start them; slots are reserved meanwhile."""
        notices, freed = self._notices, self._freed
        started = time.perf_counter()
        acks = self._acker.take()
        try:
            jobs, allowed = await self._queries.fetch(self.queue, demand, self.global_limit, acks)
            self._acker.settle(acks, written=True)
            self.capped = allowed < demand
        except BaseException as exc:
            self._acker.settle(acks, written=False)
            if not isinstance(exc, DB_ERRORS):
                raise
            # The fetch may have committed before the connection died: its jobs would sit
            # in executing under our name. Reconcile once the database is back.
            self.needs_reconcile = "hand_back"
            await self._health.trouble("fetch", exc)
            self._maybe_more = True
            jobs = []
        finally:
            self._reserved -= demand
            self._fetching -= 1
            self.wakeup.set()
        if _telemetry.listening():
            elapsed = time.perf_counter() - started
            _telemetry.emit("fetch.stop", queue=self.queue, count=len(jobs), duration_s=elapsed)
        if self._signals.fetched.on:
            self._signals.fetched.emit(Fetched(self.queue, [j.id or 0 for j in jobs], demand))
        # Fewer than wanted: wait for news (a notification; when the global limit cut it
        # short, a place freed), unless some came while this fetch ran.
        news = notices != self._notices or (self.capped and freed != self._freed)
        if len(jobs) < demand and not news and not self.needs_reconcile:
            self._maybe_more = False
        start, finished = self._execution.start, self._finished
        for job in jobs:
            self.running[job.id or 0] = start(job, finished)

    def _finished(self, job: Job) -> None:
        self.running.pop(job.id or 0, None)
        self.place_freed()
        if not self._maybe_more:
            return
        if self.running or self.needs_reconcile or self.stopping:
            self.wakeup.set()  # the loop gathers what else finishes, then fetches
        else:
            self._start_fetches()  # every slot is free: nothing more to wait for

    # Checking leases ---------------------------------------------------------------------

    def held_ids(self) -> set[int]:
        """Jobs of this process whose outcome is not written: running or in the acker."""
        return self._acker.held_ids() | self.running.keys()

    def check_leases(self) -> None:
        """Ask for the periodic check of this queue's executing jobs (see ``_reconcile``)."""
        if self.needs_reconcile is None:
            self.needs_reconcile = "rescue"
            self.wakeup.set()

    async def _check_leases_loop(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self._options.reconcile_interval)
            self.check_leases()

    async def _reconcile(self) -> None:
        """Release jobs executing under our name that we do not hold.

        After a failed fetch (its reply lost) they are handed back with the attempt given
        back; in the periodic check (an ack lost in a database crash) they are rescued.
        Runs with no fetch of this queue in flight, so every job this process leased for
        the queue is held: running, or finished with its outcome unwritten.
        """
        mode = self.needs_reconcile
        try:
            if mode == "hand_back":
                count = await self._queries.hand_back([self.queue], keep=self.held_ids())
                if count:
                    log.info("jobs.handed_back", count=count, queues=[self.queue])
            else:
                rows = await self._queries.reconcile(self.queue, keep=self.held_ids())
                if rows:
                    discarded = sum(1 for _, state, _ in rows if state == "discarded")
                    log.warning(
                        "jobs.reconciled",
                        queue=self.queue,
                        rescued=len(rows) - discarded,
                        discarded=discarded,
                        reason="executing under this worker but not held: a lost acknowledgement",
                    )
        except DB_ERRORS as exc:
            await self._health.trouble("reconcile", exc)
        else:
            if self.needs_reconcile == mode:
                self.needs_reconcile = None
            self._signals.reconciled.emit(self.queue)
        self._maybe_more = True
        self.wakeup.set()
