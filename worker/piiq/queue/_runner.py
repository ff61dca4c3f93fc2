"""Run queues in one process: the parts, put together, and the order they stop in.

One asyncio loop drives everything. Per queue a producer (_producer.py) leases jobs
into its free slots and the execution (_execution.py) runs them to outcomes, which the
acker (_acker.py) writes in batches, most riding on the next fetch. Around them: the
notifier (LISTEN), the stager (due jobs), the heartbeat and its session lock, the
rescuer (dead workers' jobs), the controller (pause/scale), the periodic jobs and,
when asked for, the pruner. Every statement goes through one gateway (_queries.py). A
lost database connection is retried with backoff; no job is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from ._acker import Acker
from ._background import Background
from ._client import Client, ConfigError
from ._control import control_channel
from ._controller import Controller
from ._cron import CronError, parse_crontab
from ._execution import Execution
from ._heartbeat import Heartbeat
from ._job import Job, utcnow
from ._log import get_logger
from ._notifier import Notifier
from ._options import QueueLimits, RunnerOptions, parse_queue_limits, parse_queues
from ._periodic import Periodic
from ._producer import Producer
from ._pruner import Pruner
from ._queries import DB_ERRORS, DatabaseHealth, Queries
from ._rescuer import Rescuer
from ._signals import Signals
from ._stager import Stager
from ._threads import JobThreads
from ._worker import UnknownWorker, resolve_worker

__all__ = ["QueueLimits", "Runner", "RunnerOptions", "parse_queue_limits", "parse_queues"]

log = get_logger(__name__)


class Runner:
    """Runs the given queues until stopped (``request_stop`` or SIGTERM)."""

    def __init__(
        self,
        client: Client,
        queues: Mapping[str, int] | list[str],
        *,
        node: str | None = None,
        options: RunnerOptions | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if client.testing == "manual":
            raise ConfigError(
                "this client is in manual testing mode, where queues do not run: use "
                "drain_queue() in tests, or testing='disabled' to run workers"
            )
        self.client = client
        self.queues = parse_queues(queues)
        self.limits = {name: q.limit for name, q in self.queues.items()}
        self.options = options = options or RunnerOptions()
        try:
            crontab = parse_crontab(options.crontab)
            for entry in crontab:  # as Oban: an entry whose worker is missing stops boot
                resolve_worker(entry.worker)
        except (CronError, UnknownWorker) as exc:
            raise ConfigError(str(exc)) from None
        self.node = node or socket.gethostname()
        self.producer_id = str(uuid.uuid4())
        self.signals = Signals()  # off unless a test enables them
        self.health = DatabaseHealth(options.reconnect_max)
        self.queries = Queries(
            client.database_url or "", client.prefix, self.node, self.producer_id, self.health
        )
        self.periodic = Periodic(
            crontab,
            insert=self._insert_durably,
            clock=clock,
            interval=options.cron_interval,
            signals=self.signals,
        )
        self.producers: dict[str, Producer] = {}
        self.execution: Execution | None = None
        self.stopping = False
        self.started = asyncio.Event()
        self._stop = asyncio.Event()

    # What the application and the tests read --------------------------------------------

    @property
    def outcomes(self) -> Counter[str]:
        """Jobs run to an outcome by this runner: completed, retryable, snoozed ..."""
        return self.execution.outcomes if self.execution is not None else Counter()

    @property
    def last_database_ok(self) -> float:
        """``time.monotonic()`` of the last statement that succeeded (health probes)."""
        return self.health.last_ok

    @property
    def pool(self) -> AsyncConnectionPool:
        return self.queries.pool

    @property
    def cron_tick(self) -> datetime | None:
        return self.periodic.tick

    @property
    def cron_inserted(self) -> int:
        return self.periodic.inserted

    async def evaluate_crontab(self, tick: datetime) -> list[Job]:
        """Insert the crontab's jobs due at ``tick`` (``conflict``: another runner did)."""
        return await self.periodic.evaluate(tick)

    async def _insert_durably(self, jobs: list[Job]) -> list[Job]:
        return await self.queries.insert_durably(self.client, jobs)

    # Lifecycle ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler)."""
        self._stop.set()

    async def run(self, *, handle_signals: bool = False) -> None:
        """Run until ``request_stop`` (or SIGTERM/SIGINT when ``handle_signals``)."""
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self._run()
        finally:
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    async def _run(self) -> None:
        self.client._require_url()
        pool = self.queries.create_pool(max_size=len(self.limits) + 3)
        if not await self._open_unless_stopped(pool):
            log.info("worker.stopped", outcomes={}, handed_back=0, before_start=True)
            return
        heartbeat = Heartbeat(
            self.queries,
            queues=list(self.limits),
            interval=self.options.heartbeat_interval,
            signals=self.signals,
        )
        try:  # before the first fetch: our jobs are known to be ours, and the lock is held
            await heartbeat.open()
            await self._warn_if_not_migrated()
        except BaseException:
            await heartbeat.close()
            await pool.close()
            raise
        threads = JobThreads(asyncio.get_running_loop(), sum(self.limits.values()))
        acker, controller, parts = self._assemble(threads, heartbeat)
        with contextlib.suppress(*DB_ERRORS):  # paused or scaled before we started
            await controller.read()
        for producer in self.producers.values():
            producer.start()
        for part in parts:
            part.start()
        log.info(
            "worker.started",
            node=self.node,
            producer=self.producer_id,
            queues=self.limits,
            global_limits={n: q.global_limit for n, q in self.queues.items() if q.global_limit},
        )
        self.started.set()
        try:
            await self._stop.wait()
        finally:
            await self._shutdown(acker, parts, heartbeat, threads)

    def _assemble(
        self, threads: JobThreads, heartbeat: Heartbeat
    ) -> tuple[Acker, Controller, list[Background]]:
        """The acker, the producers and the background parts, each given what it needs."""
        options, queries, signals, health = self.options, self.queries, self.signals, self.health
        acker = Acker(
            queries.ack,
            batch=options.ack_batch,
            interval=options.ack_interval,
            on_written=self._places_freed,
            health=health,
            signals=signals,
        )
        self.execution = Execution(self.client, threads, acker.add, options.shutdown_grace)
        self.producers = {
            name: Producer(
                name,
                limits,
                options,
                queries=queries,
                acker=acker,
                execution=self.execution,
                health=health,
                signals=signals,
            )
            for name, limits in self.queues.items()
        }
        for producer in self.producers.values():
            producer.emit_control()
        controller = Controller(
            queries.queue_controls,
            self.producers,
            interval=options.control_interval,
            on_change=lambda: threads.at_least(sum(p.limit for p in self.producers.values())),
            prefix=self.client.prefix,
            health=health,
            signals=signals,
        )
        channel = self.client.insert_channel if self.client.notify else None
        parts: list[Background] = [
            Stager(
                lambda: queries.stage(options.stage_limit, channel),
                interval=options.stage_interval,
                on_staged=self._wake,
                health=health,
                signals=signals,
            ),
            heartbeat,
            controller,
        ]
        maintenance, prefix = options.maintenance, self.client.prefix
        if maintenance is not None:
            parts.append(
                Rescuer(
                    queries.run_steps,
                    prefix=prefix,
                    options=maintenance,
                    interval=options.rescue_interval,
                    on_rescued=self._wake,
                    signals=signals,
                )
            )
            if Pruner.wanted(maintenance):
                interval = options.prune_interval
                pruner = Pruner(
                    queries.run_steps, prefix=prefix, options=maintenance, interval=interval
                )
                parts.append(pruner)
        if self.client.notify:
            parts.append(
                Notifier(
                    queries,
                    insert_channel=self.client.insert_channel,
                    control_channel=control_channel(self.client.prefix),
                    on_insert=self._wake,
                    on_control=controller.news,
                    on_listening=lambda: self._caught_up(controller),
                    reconnect_max=options.reconnect_max,
                    signals=signals,
                )
            )
        if self.periodic.crontab:
            parts.append(self.periodic)
        return acker, controller, parts

    def _wake(self, queue: str) -> None:
        producer = self.producers.get(queue)
        if producer is not None:
            producer.notify()

    def _caught_up(self, controller: Controller) -> None:
        """The notifier listens (again): catch up on inserts and controls missed meanwhile."""
        for producer in self.producers.values():
            producer.notify()
        controller.news()

    def _places_freed(self) -> None:
        for producer in self.producers.values():
            producer.place_freed()

    async def _open_unless_stopped(self, pool: AsyncConnectionPool) -> bool:
        """Wait (30 s at most) for the database; False when asked to stop meanwhile."""
        opening = asyncio.create_task(pool.open(wait=True, timeout=30))
        stopping = asyncio.create_task(self._stop.wait())
        await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not opening.done():
            opening.cancel()
            await pool.close()
            return False
        opening.result()  # raises PoolTimeout when the database never answered
        return True

    async def _warn_if_not_migrated(self) -> None:
        if not await self.queries.schema_ready():
            log.error(
                "schema.needs_migrate",
                prefix=self.client.prefix,
                fix="run `piiq migrate`: without its scrub trigger, finished jobs keep "
                "their sensitive args",
            )

    async def _shutdown(
        self, acker: Acker, parts: list[Background], heartbeat: Heartbeat, threads: JobThreads
    ) -> None:
        """Stop fetching; give running jobs the grace period, then cut them off; write
        every outcome; hand back what is left; then end the session (and its lock)."""
        self.stopping = True
        producers = list(self.producers.values())
        await asyncio.gather(*(p.stop_fetching() for p in producers))
        running = [future for p in producers for future in p.running.values()]
        log.info("worker.stopping", running=len(running), grace_s=self.options.shutdown_grace)
        if running:
            _, unfinished = await asyncio.wait(running, timeout=self.options.shutdown_grace)
            for future in unfinished:
                future.cancel()  # the ack says "cut off at shutdown"; the attempt counts
            if unfinished:
                await asyncio.wait(unfinished, timeout=1.0)
        await acker.stop()
        await asyncio.gather(*(part.stop() for part in parts))  # the heartbeat's session stays
        handed_back = 0
        for attempt in range(3):
            try:
                if await acker.flush():
                    handed_back = await self.queries.hand_back(list(self.limits), keep=set())
                    await self.queries.stop_producer()
                    break
            except DB_ERRORS as exc:
                log.warning(
                    "worker.shutdown_db_error", attempt=attempt + 1, error=type(exc).__name__
                )
                await asyncio.sleep(0.2)
        if handed_back:
            log.info("jobs.handed_back", count=handed_back, queues=list(self.limits))
        await heartbeat.close()  # after stopped_at: the lock goes with the session
        await self.queries.pool.close()
        threads.shutdown()
        log.info("worker.stopped", outcomes=dict(self.outcomes), handed_back=handed_back)
