"""The queue's entry point for applications: where the database is, and how to insert."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from . import _sqlfiles
from ._execution import run_inline
from ._insert import insert_steps, uses_copy
from ._job import Job, LeaseLost
from ._steps import run_async, run_sync

TestingMode = Literal["disabled", "manual", "inline"]

# The client's own insert connections: autocommit (an insert is one statement), the insert
# prepared at once with one generic plan (planning it cost as much as running it).
INSERT_CONNECTION: dict[str, Any] = {
    "autocommit": True,
    "prepare_threshold": 0,
    "options": "-c plan_cache_mode=force_generic_plan",
}
TESTING_MODES = ("disabled", "manual", "inline")
RECORD_RETRY_S = 10.0  # how long Job.record retries a lost connection


class ConfigError(ValueError):
    """A queue setting that cannot work; the message names the value and the fix."""


class Client:
    """Where the jobs live and how they are inserted.

    ``testing`` follows Oban: ``manual`` inserts but runs nothing (assert on the table),
    ``inline`` runs each job at insert without touching the database, ``disabled`` is
    production. ``notify=False`` turns off ``pg_notify`` (e.g. behind PgBouncer in
    transaction mode); workers then rely on polling.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        prefix: str = "public",
        testing: TestingMode = "disabled",
        notify: bool = True,
        pool_size: int = 4,
        pool_timeout: float = 30.0,
    ) -> None:
        if testing not in TESTING_MODES:
            raise ConfigError(
                f"testing mode {testing!r} is unknown: use one of {', '.join(TESTING_MODES)}"
            )
        self.database_url = database_url
        self.prefix = _sqlfiles.check_prefix(prefix)
        self.testing: TestingMode = testing
        self.notify = notify
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout  # how long an insert waits for a connection
        self._pool: ConnectionPool | None = None
        self._apool: AsyncConnectionPool | None = None
        self._pool_lock = threading.Lock()

    @property
    def insert_channel(self) -> str:
        """Oban's notification channel for inserts: ``<prefix>.oban_insert``."""
        return f"{self.prefix}.oban_insert"

    def _require_url(self) -> str:
        if not self.database_url:
            raise ConfigError(
                "no database configured: pass database_url to Client "
                "(e.g. Client('postgresql://user@host:5432/db'))"
            )
        return self.database_url

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(self._require_url(), **kwargs)

    async def aconnect(self, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._require_url(), **kwargs)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in autocommit mode (a worker's own statements use it too)."""
        with self._lazy_pool().connection() as conn:
            yield conn

    @asynccontextmanager
    async def aconnection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with (await self._lazy_apool()).connection() as conn:
            yield conn

    @contextmanager
    def _transaction(self, conn: psycopg.Connection[Any] | None) -> Iterator[Any]:
        if conn is not None:
            yield conn  # the caller's transaction: the jobs exist only if the caller commits
            return
        # Our own connections autocommit: an insert is one statement, committed (and its
        # notification sent) in one round trip.
        with self.connection() as own:
            yield own

    @asynccontextmanager
    async def _atransaction(self, conn: psycopg.AsyncConnection[Any] | None) -> AsyncIterator[Any]:
        if conn is not None:
            yield conn
            return
        async with self.aconnection() as own:
            yield own

    def _lazy_pool(self) -> ConnectionPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._require_url(),
                    min_size=1,
                    max_size=self.pool_size,
                    open=True,
                    name="piiq-insert",
                    kwargs={"autocommit": True},
                )
            return self._pool

    async def _lazy_apool(self) -> AsyncConnectionPool:
        if self._apool is None:
            pool = AsyncConnectionPool(
                self._require_url(),
                min_size=1,
                max_size=self.pool_size,
                timeout=self.pool_timeout,
                open=False,
                name="piiq-insert-async",
                kwargs={"autocommit": True},
            )
            await pool.open()
            self._apool = pool
        return self._apool

    def open(self, timeout: float = 30.0) -> Client:
        """Connect now rather than at the first insert (fail fast at startup)."""
        self._lazy_pool().wait(timeout)
        return self

    async def aopen(self, wait_s: float = 30.0) -> Client:
        await (await self._lazy_apool()).wait(wait_s)
        return self

    def close(self) -> None:
        """Close the insert connection pool (the sync one; see ``aclose``)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def aclose(self) -> None:
        if self._apool is not None:
            await self._apool.close()
            self._apool = None
        self.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Inserting ---------------------------------------------------------------------------

    def insert(self, job: Job, *, conn: psycopg.Connection[Any] | None = None) -> Job:
        """Insert one job (``Worker.new(args)``); returns it as stored, or the conflicting job."""
        return self.insert_all([job], conn=conn)[0]

    def insert_all(
        self, jobs: Sequence[Job], *, conn: psycopg.Connection[Any] | None = None
    ) -> list[Job]:
        """Insert many jobs in one statement, on ``conn``'s transaction when given."""
        for job in jobs:
            job.validate()
        if self.testing == "inline":
            return [run_inline(job, self) for job in jobs]
        if not jobs:
            return []
        steps = insert_steps(jobs, self.prefix, self.insert_channel if self.notify else None)
        with self._transaction(conn) as c:
            if not (uses_copy(jobs) and c.autocommit):
                return run_sync(c, steps)  # one statement, or the caller's open transaction
            with c.transaction():  # several statements on an autocommit connection
                return run_sync(c, steps)

    def record_meta(
        self,
        job_id: int,
        fields: dict[str, Any],
        *,
        attempt: int,
        producer: str | None,
        retry_for: float = RECORD_RETRY_S,
    ) -> None:
        """Merge ``fields`` into the meta of a job executing under this lease (``Job.record``).

        The write is idempotent, so a connection error (the database restarting, a
        connection terminated) is retried with backoff for ``retry_for`` seconds before
        it is raised. Raises ``LeaseLost`` when the job is no longer executing under
        ``attempt`` and ``producer``.
        """
        if self.testing == "inline":
            return
        params = {"id": job_id, "fields": Jsonb(fields), "attempt": attempt, "producer": producer}
        query = _sqlfiles.load("record_meta.sql", self.prefix)
        deadline = time.monotonic() + retry_for
        pause = 0.05
        while True:
            try:
                with self.connection() as conn:
                    found = conn.execute(query, params).fetchall()
                break
            except (psycopg.OperationalError, psycopg.InterfaceError):
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        if not found:
            raise LeaseLost(
                f"job {job_id} is no longer executing under attempt {attempt} of this worker "
                f"(rescued, cancelled or handed back): {', '.join(sorted(fields))} not recorded"
            )

    async def ainsert(self, job: Job, *, conn: psycopg.AsyncConnection[Any] | None = None) -> Job:
        return (await self.ainsert_all([job], conn=conn))[0]

    async def ainsert_all(
        self, jobs: Sequence[Job], *, conn: psycopg.AsyncConnection[Any] | None = None
    ) -> list[Job]:
        for job in jobs:
            job.validate()
        if self.testing == "inline":
            return [await asyncio.to_thread(run_inline, job, self) for job in jobs]
        if not jobs:
            return []
        steps = insert_steps(jobs, self.prefix, self.insert_channel if self.notify else None)
        async with self._atransaction(conn) as c:
            if not (uses_copy(jobs) and c.autocommit):
                return await run_async(c, steps)
            async with c.transaction():
                return await run_async(c, steps)
