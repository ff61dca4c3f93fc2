"""Run queues in one process: lease jobs, execute them, acknowledge in batches.

One asyncio loop drives everything. Per queue a producer fetches as many jobs as it has
free slots, in one ``FOR UPDATE SKIP LOCKED`` statement, when woken by NOTIFY, by a
finished job while work may remain, or by the poll timer. Outcomes are written in
batches. The stager makes due scheduled and retryable jobs available. A lost database
connection is retried with backoff; no job is lost (see ``hand_back``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
import structlog
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from . import sqlfiles, telemetry
from .client import Client, ConfigError
from .control import QueueControl, control_channel
from .cron import CronEntry, CronError, due_jobs, parse_crontab, seconds_to_next_tick, tick_of
from .execution import WorkerInstances, execute
from .job import Job, leased_jobs, utcnow
from .maintenance import MaintenanceOptions, PassSummary, prune_steps, rescue_steps
from .outcome import Ack, ack_params, cut_off_ack
from .steps import Steps, run_async
from .threads import JobThreads
from .worker import UnknownWorker, resolve_worker

log = structlog.get_logger("piiq.queue")

DB_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Timing knobs. The defaults suit most deployments."""

    poll_interval: float = 1.0  # fetch even without a notification this often
    stage_interval: float = 1.0  # make due scheduled/retryable jobs available this often
    stage_limit: int = 5000
    shutdown_grace: float = 15.0  # on stop, running jobs get this long to finish
    ack_interval: float = 0.002  # gather outcomes this long before writing them
    ack_batch: int = 1000
    dispatch_cooldown: float = 0.0  # wait this long after a wake-up, to fetch for more slots
    parallel_fetches: int = 2  # fetches of one queue in flight at once (slots freed meanwhile)
    reconnect_max: float = 5.0  # longest pause between reconnection attempts
    # How often this process says it is alive, on its own connection, which also holds
    # the session lock that tells rescuers the process lives (see rescue_jobs.sql).
    heartbeat_interval: float = 1.0
    # How often each producer checks that every job executing under its name is one it
    # holds (an ack rolled back by a database crash leaves one it does not).
    reconcile_interval: float = 10.0
    # In-process maintenance: by default only fast rescue of dead workers' jobs; pruning
    # and the time-based Lifeline usually run in the maintenance CronJob.
    maintenance: MaintenanceOptions | None = field(
        default_factory=lambda: MaintenanceOptions(prune_max_age=None, rescue_after=None)
    )
    rescue_interval: float = 1.0
    prune_interval: float = 60.0
    # Read paused and scaled queues (piiq_queues) this often even without a notification.
    control_interval: float = 1.0
    # Periodic jobs (Oban's Cron plugin): entries or crontab lines (see cron.py). Every
    # runner with a crontab inserts the due jobs at each minute; each (entry, tick) gets
    # one job however many runners do. The clock is read this often (no database query).
    crontab: tuple[CronEntry | str, ...] = ()
    cron_interval: float = 1.0


class QueueLimits(NamedTuple):
    limit: int  # jobs at once in this process
    global_limit: int | None = None  # jobs at once over every process; None: no such limit


def parse_queues(
    specs: Mapping[str, int | tuple[int, int | None]] | list[str],
) -> dict[str, QueueLimits]:
    """Read ``{"events": 20}``, ``{"events": (8, 20)}`` or ``["events=8/20", "pii_detection=5"]``.

    ``NAME=N`` runs at most N jobs of the queue at once in this process; ``NAME=N/G``
    also at most G over every process serving the queue (the global limit).
    """
    if isinstance(specs, Mapping):
        items = [(name, v if isinstance(v, tuple) else (v, None)) for name, v in specs.items()]
    else:
        items = [_parse_spec(spec) for spec in specs]
    queues: dict[str, QueueLimits] = {}
    for name, (limit, global_limit) in items:
        if not name or len(name) > 127:
            raise ConfigError(f"queue name {name!r} must be 1 to 127 characters")
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"queue {name!r}: concurrency {limit!r} must be 1 or more")
        if global_limit is not None and (not isinstance(global_limit, int) or global_limit < 1):
            raise ConfigError(f"queue {name!r}: global limit {global_limit!r} must be 1 or more")
        queues[name] = QueueLimits(limit, global_limit)
    if not queues:
        raise ConfigError("no queues to run: give at least one, e.g. --queue events=20")
    return queues


def _parse_spec(spec: str) -> tuple[str, tuple[int, int | None]]:
    name, sep, value = spec.partition("=")
    local, slash, global_ = value.partition("/")
    numbers = [local.strip(), *([global_.strip()] if slash else [])]
    if not sep or not all(n.isdigit() for n in numbers):
        raise ConfigError(
            f"queue {spec!r} must look like NAME=CONCURRENCY or NAME=CONCURRENCY/GLOBAL, "
            "e.g. events=20 or events=8/20"
        )
    return name.strip(), (int(numbers[0]), int(numbers[1]) if slash else None)


def parse_queue_limits(specs: Mapping[str, int] | list[str]) -> dict[str, int]:
    """The per-process limits of ``parse_queues``: ``{"events": 8}`` for ``events=8/20``."""
    return {name: q.limit for name, q in parse_queues(specs).items()}


class Producer:
    """Leases and runs the jobs of one queue, never more than ``limit`` at a time here,
    nor more than ``global_limit`` executing over every process."""

    def __init__(self, runner: Runner, queue: str, limit: int, global_limit: int | None) -> None:
        self.runner = runner
        self.queue = queue
        self.limit = limit
        self.configured_limit = limit  # the --queue limit; `piiq queues scale` overrides it
        self.global_limit = global_limit
        self.paused = False  # `piiq queues pause`: no fetch until resumed
        # The last fetch took fewer jobs than it wanted because of the global limit: a job
        # of ours finishing frees a place in it, so fetch again then.
        self.capped = False
        self.running: dict[int, asyncio.Task[None]] = {}
        self.wakeup = asyncio.Event()
        self._maybe_more = True
        self._notices = 0
        self._freed = 0  # place_freed calls
        # "hand_back" after a failed fetch (its jobs may be leased, never started: the
        # attempt is given back); "rescue" for the periodic check (see reconcile_jobs.sql).
        self.needs_reconcile: str | None = None
        self._reserved = 0  # slots promised to fetches in flight
        self._fetching = 0
        self._fetches: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """Work may be available (an insert, staging, a reconnect)."""
        self._maybe_more = True
        self._notices += 1
        self.wakeup.set()

    async def loop(self) -> None:
        runner = self.runner
        options = runner.options
        while not runner.stopping:
            if not self.wakeup.is_set():
                try:
                    await asyncio.wait_for(self.wakeup.wait(), options.poll_interval)
                except TimeoutError:
                    self._maybe_more = True
            self.wakeup.clear()
            if runner.stopping:
                break
            # Yield once, so jobs finishing in the same tick free their slots first.
            await asyncio.sleep(options.dispatch_cooldown)
            if self.needs_reconcile:
                if self._fetching:
                    continue  # reconcile only with no fetch in flight (see _reconcile)
                await self._reconcile()
                continue
            while (
                self._maybe_more and not self.paused and self._fetching < options.parallel_fetches
            ):
                demand = self.limit - len(self.running) - self._reserved
                if demand <= 0:
                    break
                self._reserved += demand
                self._fetching += 1
                fetch = asyncio.create_task(self._fetch(demand))
                self._fetches.add(fetch)
                fetch.add_done_callback(self._fetches.discard)

    async def _fetch(self, demand: int) -> None:
        """Lease up to ``demand`` jobs and start them; slots are reserved meanwhile."""
        notices, freed = self._notices, self._freed
        try:
            jobs, allowed = await self.runner.fetch(self.queue, demand, self.global_limit)
            self.capped = allowed < demand
        except DB_ERRORS as exc:
            # The fetch may have committed before the connection died: its jobs would sit
            # in executing under our name. Reconcile once the database is back.
            self.needs_reconcile = "hand_back"
            await self.runner.database_trouble("fetch", exc)
            self._maybe_more = True
            jobs = []
        finally:
            self._reserved -= demand
            self._fetching -= 1
            self.wakeup.set()
        # Fewer than wanted: wait for news (a notification; when the global limit cut it
        # short, a place freed), unless some came while this fetch ran.
        news = notices != self._notices or (self.capped and freed != self._freed)
        if len(jobs) < demand and not news and not self.needs_reconcile:
            self._maybe_more = False
        for job in jobs:
            assert job.id is not None
            self.running[job.id] = asyncio.create_task(self._run(job))

    def check_leases(self) -> None:
        """Ask for the periodic check of this queue's executing jobs (see ``_reconcile``)."""
        if self.needs_reconcile is None:
            self.needs_reconcile = "rescue"
            self.wakeup.set()

    async def _reconcile(self) -> None:
        """Release jobs executing under our name that we do not hold.

        After a failed fetch (its reply lost) they are handed back with the attempt given
        back; in the periodic check (an ack lost in a database crash) they are rescued.
        Runs with no fetch of this queue in flight, so every job this process leased for
        the queue is in ``held_ids``: running, or finished with its outcome unwritten.
        """
        mode = self.needs_reconcile
        try:
            if mode == "hand_back":
                await self.runner.hand_back([self.queue], keep=self.runner.held_ids())
            else:
                await self.runner.reconcile(self.queue, keep=self.runner.held_ids())
        except DB_ERRORS as exc:
            await self.runner.database_trouble("reconcile", exc)
        else:
            if self.needs_reconcile == mode:
                self.needs_reconcile = None
        self._maybe_more = True
        self.wakeup.set()

    async def _run(self, job: Job) -> None:
        runner = self.runner
        started = time.perf_counter()
        log.info(
            "job.started", queue=job.queue, worker=job.worker, job_id=job.id, attempt=job.attempt
        )
        telemetry.emit(
            "job.start", queue=job.queue, worker=job.worker, job_id=job.id, attempt=job.attempt
        )
        try:
            ack = await execute(job, runner.instances, runner.threads)
        except asyncio.CancelledError:
            if runner.stopping:  # cut off at the shutdown grace: the attempt counts
                grace = runner.options.shutdown_grace
                job.given_up = f"cut off at shutdown after the {grace:g} s grace"
                ack = cut_off_ack(job, grace)
                runner.acker.add(ack)
                runner.record(job, ack, time.perf_counter() - started)
            raise
        else:
            runner.acker.add(ack)
            runner.record(job, ack, time.perf_counter() - started)
        finally:
            self.running.pop(job.id or 0, None)
            self.place_freed()
            if self._maybe_more:
                self.wakeup.set()

    def place_freed(self) -> None:
        """A job of ours finished or its outcome was written: when the global limit cut
        the last fetch short, there may be room again."""
        self._freed += 1
        if self.capped:
            self._maybe_more = True
            self.wakeup.set()


class Acker:
    """Writes job outcomes in batches: one UPDATE for many jobs.

    Most outcomes ride along with the next fetch (``take``); the acker's own loop writes
    whatever is still waiting after ``ack_interval``, e.g. when a queue has run dry.
    """

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.buffer: list[Ack] = []
        self.in_flight: set[int] = set()
        self._ready = asyncio.Event()
        self.closing = False

    def add(self, ack: Ack) -> None:
        self.buffer.append(ack)
        self._ready.set()

    def take(self) -> list[Ack]:
        """Hand the buffered outcomes to a fetch; ``settle`` or ``restore`` them after."""
        taken = self.buffer[: self.runner.options.ack_batch]
        del self.buffer[: len(taken)]
        self.in_flight.update(a.id for a in taken)
        return taken

    def restore(self, acks: list[Ack]) -> None:
        self.buffer[:0] = acks
        if acks:
            self._ready.set()

    def settle(self, acks: list[Ack]) -> None:
        self.in_flight.difference_update(a.id for a in acks)

    def held_ids(self) -> set[int]:
        return {a.id for a in self.buffer} | self.in_flight

    def wake(self) -> None:
        self._ready.set()

    async def loop(self) -> None:
        options = self.runner.options
        while not self.closing:
            await self._ready.wait()
            if len(self.buffer) < options.ack_batch and options.ack_interval:
                await asyncio.sleep(options.ack_interval)
            await self.flush()

    async def flush(self) -> bool:
        """Write everything buffered; on a database error keep it for the next try."""
        while self.buffer:
            batch = self.take()
            try:
                acked = await self.runner.ack(batch)
            except asyncio.CancelledError:
                self.restore(batch)  # re-acking is harmless: the UPDATE is guarded
                raise
            except DB_ERRORS as exc:
                self.restore(batch)
                await self.runner.database_trouble("ack", exc)
                return False
            finally:
                self.settle(batch)
            for producer in self.runner.producers.values():
                producer.place_freed()
            if acked < len(batch):
                log.warning(
                    "jobs.ack_skipped",
                    count=len(batch) - acked,
                    reason="no longer executing under this attempt (rescued or handed back)",
                )
        self._ready.clear()
        return True


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
        self.options = options or RunnerOptions()
        self.clock = clock  # UTC now, for the crontab (tests inject their own)
        try:
            self.crontab = parse_crontab(self.options.crontab)
            for entry in self.crontab:  # as Oban: an entry whose worker is missing stops boot
                resolve_worker(entry.worker)
        except (CronError, UnknownWorker) as exc:
            raise ConfigError(str(exc)) from None
        self.cron_inserted = 0  # jobs this runner's crontab inserted (not the duplicates)
        self.cron_tick: datetime | None = None  # the last tick evaluated
        self.node = node or os.environ.get("PIIQ_NODE") or socket.gethostname()
        self.producer_id = str(uuid.uuid4())
        self.attempted_by = [self.node, self.producer_id]
        self.instances = WorkerInstances()
        self.threads: JobThreads
        self.stopping = False
        self.outcomes: Counter[str] = Counter()
        self._stop = asyncio.Event()
        self._pool: AsyncConnectionPool | None = None
        self._beat_conn: psycopg.AsyncConnection[Any] | None = None
        self.producers: dict[str, Producer] = {}
        self.acker: Acker
        self._trouble_since: float | None = None
        self._backoff = 0.05
        self.last_database_ok = time.monotonic()  # for health probes
        prefix = client.prefix
        self._fetch_sql = sqlfiles.load("fetch_jobs.sql", prefix)
        self._lock_queue_sql = sqlfiles.load("lock_queue.sql", prefix)
        self._ack_sql = sqlfiles.load("ack_jobs.sql", prefix)
        self._stage_sql = sqlfiles.load("stage_jobs.sql", prefix)
        self._hand_back_sql = sqlfiles.load("hand_back_jobs.sql", prefix)
        self._reconcile_sql = sqlfiles.load("reconcile_jobs.sql", prefix)
        self._lock_session_sql = sqlfiles.load("lock_session.sql", prefix)
        self._register_sql = sqlfiles.load("register_producer.sql", prefix)
        self._heartbeat_sql = sqlfiles.load("heartbeat.sql", prefix)
        self._stop_producer_sql = sqlfiles.load("stop_producer.sql", prefix)
        self._controls_sql = sqlfiles.load("queue_controls.sql", prefix)
        self._control_news = asyncio.Event()
        self._controls_missing = False
        self.started = asyncio.Event()

    # Database operations -----------------------------------------------------------------

    def _connection_kwargs(self) -> dict[str, Any]:
        # Fetches and acks need not wait for the WAL flush: a fetch lost in a database
        # crash leaves its jobs available, a lost ack means a rerun, which at-least-once
        # delivery allows anyway. Inserts (the caller's data) keep full durability.
        # The same few statements run thousands of times: prepare them at once and keep
        # one generic plan (planning the fetch took longer than running it).
        return {
            "autocommit": True,
            "prepare_threshold": 0,
            "options": "-c synchronous_commit=off -c plan_cache_mode=force_generic_plan",
            "application_name": f"piiq worker {self.node}"[:63],
        }

    @property
    def pool(self) -> AsyncConnectionPool:
        assert self._pool is not None, "the runner is not running"
        return self._pool

    async def _execute(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)
            rows = await cur.fetchall() if cur.description else []
        self._database_ok()
        return rows

    async def fetch(
        self, queue: str, demand: int, global_limit: int | None = None
    ) -> tuple[list[Job], int]:
        """Lease up to ``demand`` jobs, writing pending outcomes in the same statement.

        Returns the jobs and how many the global limit allowed (``demand`` without one).
        """
        acks = self.acker.take()
        params = ack_params(acks, self.producer_id) | {
            "queue": queue,
            "demand": demand,
            "global_limit": global_limit,
            "attempted_by": self.attempted_by,
        }
        started = time.perf_counter()
        try:
            async with self.pool.connection() as conn:
                if global_limit is None:
                    cur = await conn.execute(self._fetch_sql, params)
                else:  # one round trip all the same: BEGIN, lock, fetch, COMMIT
                    async with conn.pipeline(), conn.transaction():
                        lock = {"prefix": self.client.prefix, "queue": queue}
                        await conn.execute(self._lock_queue_sql, lock)
                        cur = await conn.execute(self._fetch_sql, params)
                rows = await cur.fetchall()
            self._database_ok()
        except BaseException:
            self.acker.restore(acks)  # written again later; the UPDATE is guarded
            raise
        finally:
            self.acker.settle(acks)
        jobs, allowed = leased_jobs(rows)
        telemetry.emit(
            "fetch.stop", queue=queue, count=len(jobs), duration_s=time.perf_counter() - started
        )
        for job in jobs:
            job.client = self.client
        jobs.sort(key=lambda j: (j.priority, j.scheduled_at, j.id))
        return jobs, allowed

    async def ack(self, acks: list[Ack]) -> int:
        rows = await self._execute(self._ack_sql, ack_params(acks, self.producer_id))
        return len(rows)

    async def stage(self) -> dict[str, int]:
        channel = self.client.insert_channel if self.client.notify else None
        rows = await self._execute(
            self._stage_sql, {"limit": self.options.stage_limit, "channel": channel}
        )
        return {queue: count for queue, count in rows}

    async def hand_back(self, queues: list[str], keep: set[int]) -> int:
        rows = await self._execute(
            self._hand_back_sql,
            {"producer": self.producer_id, "queues": queues, "keep": sorted(keep)},
        )
        if rows:
            log.info("jobs.handed_back", count=len(rows), queues=queues)
        return len(rows)

    async def reconcile(self, queue: str, keep: set[int]) -> int:
        params = {"producer": self.producer_id, "queues": [queue], "keep": sorted(keep)}
        rows = await self._execute(self._reconcile_sql, params)
        if rows:
            discarded = sum(1 for _, state, _ in rows if state == "discarded")
            log.warning(
                "jobs.reconciled",
                queue=queue,
                rescued=len(rows) - discarded,
                discarded=discarded,
                reason="executing under this worker but not held: a lost acknowledgement",
            )
            self.producers[queue].notify()
        return len(rows)

    def held_ids(self) -> set[int]:
        """Jobs this process still owns: running, or finished with the outcome unwritten."""
        held = self.acker.held_ids()
        for producer in self.producers.values():
            held.update(producer.running)
        return held

    async def database_trouble(self, during: str, exc: BaseException) -> None:
        """Log a database error and wait before the next attempt (exponential, capped)."""
        now = time.monotonic()
        if self._trouble_since is None:
            self._trouble_since = now
        log.warning(
            "database.unavailable",
            during=during,
            error=type(exc).__name__,
            detail=str(exc).splitlines()[0] if str(exc) else "",
            retry_in_s=round(self._backoff, 3),
        )
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, self.options.reconnect_max)

    def _database_ok(self) -> None:
        self.last_database_ok = time.monotonic()
        if self._trouble_since is not None:
            log.info("database.recovered", down_s=round(time.monotonic() - self._trouble_since, 3))
            self._trouble_since = None
        self._backoff = 0.05

    def record(self, job: Job, ack: Ack, seconds: float) -> None:
        self.outcomes[ack.outcome] += 1
        (log.warning if ack.reason else log.info)(
            f"job.{ack.outcome}",
            queue=job.queue,
            worker=job.worker,
            job_id=job.id,
            attempt=job.attempt,
            duration_ms=round(seconds * 1000, 2),
            **({"reason": ack.reason} if ack.reason else {}),
        )
        telemetry.emit(
            "job.stop",
            queue=job.queue,
            worker=job.worker,
            job_id=job.id,
            attempt=job.attempt,
            outcome=ack.outcome,
            duration_s=seconds,
        )

    # Background loops --------------------------------------------------------------------

    async def _listen(self) -> None:
        """Wake producers on Oban's insert notifications; reconnect with backoff."""
        backoff = 0.1
        while not self.stopping:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.client.database_url or "", **self._connection_kwargs()
                )
                async with conn:
                    control = control_channel(self.client.prefix)
                    for channel in (self.client.insert_channel, control):
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    backoff = 0.1
                    for producer in self.producers.values():
                        producer.notify()  # catch up on anything inserted while deaf
                    self._control_news.set()  # and on queues paused or scaled meanwhile
                    async for notice in conn.notifies():
                        if notice.channel == control:
                            self._control_news.set()
                        else:
                            self._dispatch_notice(notice.payload)
            except DB_ERRORS as exc:
                if self.stopping:
                    return
                log.warning("notifier.disconnected", error=type(exc).__name__, retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.options.reconnect_max)

    def _dispatch_notice(self, payload: str) -> None:
        try:
            queue = json.loads(payload).get("queue")
        except (ValueError, AttributeError):
            return
        producer = self.producers.get(queue)
        if producer is not None:
            producer.notify()

    async def read_controls(self) -> None:
        """Apply the queues' runtime state (paused, scaled) from piiq_queues."""
        try:
            rows = await self._execute(self._controls_sql, {"queues": list(self.producers)})
        except psycopg.errors.UndefinedTable:
            if not self._controls_missing:
                log.error(
                    "schema.needs_migrate",
                    prefix=self.client.prefix,
                    fix="run `piiq migrate`: without piiq_queues, `piiq queues pause|resume|"
                    "scale` cannot reach this worker",
                )
                self._controls_missing = True
            return
        self._controls_missing = False
        controls = {name: QueueControl(paused, limit) for name, paused, limit in rows}
        for name, producer in self.producers.items():
            self._apply_control(producer, controls.get(name, QueueControl()))

    def _apply_control(self, producer: Producer, control: QueueControl) -> None:
        limit = control.local_limit or producer.configured_limit
        if (control.paused, limit) == (producer.paused, producer.limit):
            return
        resumed = producer.paused and not control.paused
        more = limit > producer.limit
        producer.paused, producer.limit = control.paused, limit
        self.threads.at_least(sum(p.limit for p in self.producers.values()))
        log.info("queue.control", queue=producer.queue, paused=control.paused, limit=limit)
        self.emit_control(producer)
        if resumed or more:
            producer.notify()

    def emit_control(self, producer: Producer) -> None:
        telemetry.emit(
            "queue.control",
            queue=producer.queue,
            paused=producer.paused,
            limit=producer.limit,
            global_limit=producer.global_limit,
        )

    async def _control_loop(self) -> None:
        while not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._control_news.wait(), self.options.control_interval)
            self._control_news.clear()
            try:
                await self.read_controls()
            except DB_ERRORS as exc:
                await self.database_trouble("read_controls", exc)

    async def _stage_loop(self) -> None:
        while not self.stopping:
            try:
                staged = await self.stage()
            except DB_ERRORS as exc:
                await self.database_trouble("stage", exc)
                continue
            for queue in staged:
                producer = self.producers.get(queue)
                if producer is not None:
                    producer.notify()
            await asyncio.sleep(self.options.stage_interval)

    async def _session(self) -> psycopg.AsyncConnection[Any]:
        """The heartbeat connection, holding this process's session lock and registered.

        A connection of its own: a busy pool cannot delay a heartbeat, and the lock lives
        exactly as long as this session (a rescuer that can take it knows we are gone).
        """
        conn = self._beat_conn
        if conn is not None and not conn.closed:
            return conn
        kwargs = self._connection_kwargs()
        kwargs["application_name"] = f"piiq heartbeat {self.node}"[:63]
        conn = await psycopg.AsyncConnection.connect(self.client.database_url or "", **kwargs)
        try:
            await conn.execute(self._lock_session_sql, {"uuid": self.producer_id})
            await self._register(conn)
        except BaseException:
            await conn.close()
            raise
        self._beat_conn = conn
        return conn

    async def _register(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(
            self._register_sql,
            {
                "uuid": self.producer_id,
                "node": self.node,
                "pid": os.getpid(),
                "queues": list(self.limits),
                "heartbeat_interval": self.options.heartbeat_interval,
            },
        )

    async def _heartbeat_loop(self) -> None:
        """Tell the world this process is alive, so its jobs are never rescued from it.

        A lost heartbeat connection (and with it the session lock) is replaced at once:
        rescuers try the lock only after two missed heartbeats.
        """
        pause = 0.0
        while not self.stopping:
            await asyncio.sleep(pause or self.options.heartbeat_interval)
            try:
                conn = await self._session()
                cur = await conn.execute(self._heartbeat_sql, {"uuid": self.producer_id})
                if not await cur.fetchall():
                    await self._register(conn)  # our row was removed: announce ourselves again
                pause = 0.0
            except DB_ERRORS as exc:
                log.warning("worker.heartbeat_failed", error=type(exc).__name__)
                await self._close_session()
                pause = min(max(pause * 2, 0.05), self.options.heartbeat_interval)

    async def _close_session(self) -> None:
        conn, self._beat_conn = self._beat_conn, None
        if conn is not None:
            with contextlib.suppress(*DB_ERRORS):
                await conn.close()

    async def _warn_if_not_migrated(self) -> None:
        rows = await self._execute(sqlfiles.load("schema_check.sql", self.client.prefix), {})
        if not rows[0][0]:
            log.error(
                "schema.needs_migrate",
                prefix=self.client.prefix,
                fix="run `piiq migrate`: without its scrub trigger, finished jobs keep "
                "their sensitive args",
            )

    async def _reconcile_loop(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self.options.reconcile_interval)
            for producer in self.producers.values():
                producer.check_leases()

    async def run_maintenance(self, steps: Steps[PassSummary]) -> PassSummary:
        async with self.pool.connection() as conn:
            return await run_async(conn, steps)

    def _report_rescued(self, summary: PassSummary) -> None:
        """Telemetry for each queue's rescued jobs; wake the queues that got work back."""
        for state, by_queue in (
            ("available", summary.rescued_by_queue),
            ("discarded", summary.discarded_by_queue),
        ):
            for queue, count in by_queue.items():
                telemetry.emit("jobs.rescued", queue=queue, state=state, count=count)
        for queue in summary.rescued_by_queue:
            producer = self.producers.get(queue)
            if producer is not None:
                producer.notify()

    async def _maintenance_loop(self) -> None:
        options = self.options.maintenance
        assert options is not None
        prefix = self.client.prefix
        next_prune = time.monotonic()
        pruning = options.prune_max_age is not None or bool(options.prune_max_age_by_state)
        while not self.stopping:
            try:
                rescued = await self.run_maintenance(rescue_steps(prefix, options))
                if rescued.rescued or rescued.discarded:
                    log.warning(
                        "jobs.rescued",
                        rescued=rescued.rescued,
                        discarded=rescued.discarded,
                        by_queue=rescued.rescued_by_queue,
                        discarded_by_queue=rescued.discarded_by_queue,
                    )
                    self._report_rescued(rescued)
                if pruning and time.monotonic() >= next_prune:
                    pruned = await self.run_maintenance(prune_steps(prefix, options))
                    next_prune = time.monotonic() + self.options.prune_interval
                    if any(pruned.pruned.values()):
                        log.info("jobs.pruned", **pruned.pruned)
            except DB_ERRORS as exc:
                log.warning("maintenance.failed", error=type(exc).__name__)
            await asyncio.sleep(self.options.rescue_interval)

    async def evaluate_crontab(self, tick: datetime) -> list[Job]:
        """Insert the crontab's jobs due at ``tick``; returns them as stored (``conflict``:
        another runner inserted that tick's job first)."""
        jobs = due_jobs(self.crontab, tick, resolve_worker)
        if not jobs:
            return []
        async with self.pool.connection() as conn, conn.transaction():
            # Our connections skip the WAL flush (fetches and acks may be lost); an insert
            # keeps full durability, as the client's inserts do.
            await conn.execute(sqlfiles.load("durable_commit.sql", self.client.prefix))
            stored = await self.client.ainsert_all(jobs, conn=conn)
        self._database_ok()
        inserted = [job for job in stored if not job.conflict]
        self.cron_inserted += len(inserted)
        for job in inserted:
            telemetry.emit("cron.inserted", queue=job.queue, worker=job.worker)
        log.info(
            "cron.evaluated",
            tick=tick.isoformat(),
            inserted=[job.worker for job in inserted],
            already_inserted=[job.worker for job in stored if job.conflict],
        )
        return stored

    async def _cron_loop(self) -> None:
        """At each tick (a new minute on the clock), insert the due jobs once; a failed
        insert is retried while the minute lasts (a later tick is its own)."""
        while not self.stopping:
            tick = tick_of(self.clock())
            if tick != self.cron_tick:
                try:
                    await self.evaluate_crontab(tick)
                    self.cron_tick = tick
                except DB_ERRORS as exc:  # retried at the next look at the clock
                    log.warning("cron.failed", tick=tick.isoformat(), error=type(exc).__name__)
                except Exception as exc:  # not retried: it would fail the same way
                    log.error("cron.failed", tick=tick.isoformat(), error=repr(exc)[:500])
                    self.cron_tick = tick
            wait = seconds_to_next_tick(self.clock())
            await asyncio.sleep(max(0.0, min(self.options.cron_interval, wait)))

    # Lifecycle ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler)."""
        self._stop.set()

    async def _open_pool_unless_stopped(self, pool: AsyncConnectionPool) -> bool:
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

    async def run(self, *, handle_signals: bool = False) -> None:
        """Run until ``request_stop`` (or SIGTERM/SIGINT when ``handle_signals``)."""
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        url = self.client._require_url()
        self._pool = AsyncConnectionPool(
            url,
            min_size=2,
            max_size=len(self.limits) + 3,
            kwargs=self._connection_kwargs(),
            open=False,
            name=f"piiq-{self.node}",
        )
        if not await self._open_pool_unless_stopped(self._pool):
            log.info("worker.stopped", outcomes={}, handed_back=0, before_start=True)
            return
        # Before the first fetch: our jobs are known to be ours, and the lock is held.
        try:
            await self._session()
            await self._warn_if_not_migrated()
        except BaseException:
            await self._close_session()
            await self._pool.close()
            raise
        self.acker = Acker(self)
        self.threads = JobThreads(loop, sum(self.limits.values()))
        self.producers = {
            name: Producer(self, name, q.limit, q.global_limit) for name, q in self.queues.items()
        }
        for producer in self.producers.values():
            self.emit_control(producer)
        with contextlib.suppress(*DB_ERRORS):  # paused or scaled before we started
            await self.read_controls()
        tasks = [
            asyncio.create_task(p.loop(), name=f"producer:{q}") for q, p in self.producers.items()
        ]
        acker_task = asyncio.create_task(self.acker.loop(), name="acker")
        helpers = [
            acker_task,
            asyncio.create_task(self._stage_loop(), name="stager"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._reconcile_loop(), name="reconcile"),
            asyncio.create_task(self._control_loop(), name="control"),
        ]
        if self.options.maintenance is not None:
            helpers.append(asyncio.create_task(self._maintenance_loop(), name="maintenance"))
        if self.client.notify:
            helpers.append(asyncio.create_task(self._listen(), name="notifier"))
        if self.crontab:
            helpers.append(asyncio.create_task(self._cron_loop(), name="cron"))
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
            await self._shutdown(tasks, helpers, acker_task)
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    async def _shutdown(
        self,
        producer_tasks: list[asyncio.Task[None]],
        helpers: list[asyncio.Task[Any]],
        acker_task: asyncio.Task[None],
    ) -> None:
        self.stopping = True
        for producer in self.producers.values():
            producer.wakeup.set()
        await asyncio.gather(*producer_tasks, return_exceptions=True)
        fetches = [f for p in self.producers.values() for f in p._fetches]
        await asyncio.gather(*fetches, return_exceptions=True)  # their jobs start and run
        running = [t for p in self.producers.values() for t in p.running.values()]
        log.info("worker.stopping", running=len(running), grace_s=self.options.shutdown_grace)
        if running:
            _, unfinished = await asyncio.wait(running, timeout=self.options.shutdown_grace)
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.wait(unfinished, timeout=1.0)
        self.acker.closing = True
        self.acker.wake()  # it finishes its write and returns
        for task in helpers:
            if task is not acker_task:
                task.cancel()
        await asyncio.wait(helpers, timeout=5.0)
        acker_task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        handed_back = 0
        for attempt in range(3):
            try:
                if await self.acker.flush():
                    handed_back = await self.hand_back(list(self.limits), keep=set())
                    await self._execute(self._stop_producer_sql, {"uuid": self.producer_id})
                    break
            except DB_ERRORS as exc:
                log.warning(
                    "worker.shutdown_db_error", attempt=attempt + 1, error=type(exc).__name__
                )
                await asyncio.sleep(0.2)
        await self._close_session()  # after stopped_at: the lock goes with the session
        await self.pool.close()
        self.threads.shutdown()
        log.info("worker.stopped", outcomes=dict(self.outcomes), handed_back=handed_back)
