"""The runner's one gateway to the database: every statement it runs (from ``sql/``),
loaded once, with its parameters built in one place.

Each part of the runner gets this object, never the pool: a statement that succeeds
counts as database contact (``DatabaseHealth``, read by the health probes), and a
statement's shape changes here and in its ``.sql`` file only.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

from . import _sqlfiles
from ._job import Job, leased_jobs
from ._log import get_logger
from ._maintenance import PassSummary
from ._outcome import Ack, ack_params
from ._steps import Steps, run_async

log = get_logger(__name__)

# Every statement the runner runs (sql/<name>.sql).
STATEMENTS = (
    "fetch_jobs",
    "lock_queue",
    "ack_jobs",
    "stage_jobs",
    "hand_back_jobs",
    "reconcile_jobs",
    "queue_controls",
    "schema_check",
    "durable_commit",
    "lock_session",
    "register_producer",
    "heartbeat",
    "stop_producer",
)
# What a lost or restarting database raises; anything else is a bug or a schema problem.
DB_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


def connection_kwargs(node: str, purpose: str = "worker") -> dict[str, Any]:
    """Settings of every runner connection (``application_name`` says whose and what for).

    Fetches and acks need not wait for the WAL flush: a fetch lost in a database crash
    leaves its jobs available, a lost ack means a rerun, which at-least-once delivery
    allows anyway (inserts keep full durability, see durable_commit.sql). The same few
    statements run thousands of times: prepared at once, with one generic plan (planning
    the fetch took longer than running it).
    """
    return {
        "autocommit": True,
        "prepare_threshold": 0,
        "options": "-c synchronous_commit=off -c plan_cache_mode=force_generic_plan",
        "client_encoding": "UTF8",
        "application_name": f"piiq {purpose} {node}"[:63],
    }


_decode_json = json.JSONDecoder().decode


def _load_json(data: str | bytes) -> Any:
    """``json.loads`` for the UTF-8 text PostgreSQL sends (client_encoding UTF8, set on
    our connections), without sniffing the encoding of every value: two per leased job."""
    return _decode_json(data.decode() if isinstance(data, bytes) else data)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    set_json_loads(_load_json, conn)


class DatabaseHealth:
    """When the database last answered, and the pause before the next try after an error
    (doubling from 50 ms up to ``reconnect_max``, back to 50 ms once it answers)."""

    def __init__(self, reconnect_max: float) -> None:
        self.reconnect_max = reconnect_max
        self.last_ok = time.monotonic()
        self._trouble_since: float | None = None
        self._backoff = 0.05

    def ok(self) -> None:
        self.last_ok = time.monotonic()
        if self._trouble_since is not None:
            log.info("database.recovered", down_s=round(self.last_ok - self._trouble_since, 3))
            self._trouble_since = None
            self._backoff = 0.05

    async def trouble(self, during: str, exc: BaseException) -> None:
        """Log a database error and wait before the caller tries again."""
        if self._trouble_since is None:
            self._trouble_since = time.monotonic()
        log.warning(
            "database.unavailable",
            during=during,
            error=type(exc).__name__,
            detail=str(exc).splitlines()[0] if str(exc) else "",
            retry_in_s=round(self._backoff, 3),
        )
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, self.reconnect_max)


class Queries:
    """The runner's statements, run on its pool (or, for the heartbeat's session lock and
    the notifier's LISTEN, on a connection of their own)."""

    def __init__(
        self,
        database_url: str,
        prefix: str,
        node: str,
        producer_id: str,
        health: DatabaseHealth,
    ) -> None:
        self.database_url = database_url
        self.prefix = prefix
        self.node = node
        self.producer_id = producer_id
        self.attempted_by = [node, producer_id]
        self.health = health
        self._pool: AsyncConnectionPool | None = None
        self._sql = {name: _sqlfiles.load(f"{name}.sql", prefix) for name in STATEMENTS}

    # The pool ----------------------------------------------------------------------------

    def create_pool(self, max_size: int) -> AsyncConnectionPool:
        """The pool the runner's statements use (not opened: the runner opens it, so that
        a stop request can interrupt the wait for the database)."""
        self._pool = AsyncConnectionPool(
            self.database_url,
            min_size=2,
            max_size=max_size,
            kwargs=connection_kwargs(self.node),
            open=False,
            name=f"piiq-{self.node}",
            configure=_configure,
        )
        return self._pool

    @property
    def pool(self) -> AsyncConnectionPool:
        assert self._pool is not None, "the runner is not running"
        return self._pool

    async def connect(self, purpose: str) -> psycopg.AsyncConnection[Any]:
        """A connection of its own, outside the pool (heartbeat, notifier)."""
        return await psycopg.AsyncConnection.connect(
            self.database_url, **connection_kwargs(self.node, purpose)
        )

    async def _rows(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)
            rows = await cur.fetchall() if cur.description else []
        self.health.ok()
        return rows

    # Leasing and outcomes ----------------------------------------------------------------

    async def fetch(
        self, queue: str, demand: int, global_limit: int | None, acks: list[Ack]
    ) -> tuple[list[Job], int]:
        """Write ``acks`` and lease up to ``demand`` jobs of ``queue``, in one statement.

        Returns the jobs in fetch order and how many the global limit allowed (``demand``
        without one).
        """
        params = ack_params(acks, self.producer_id)
        params["queue"] = queue
        params["demand"] = demand
        params["global_limit"] = global_limit
        params["attempted_by"] = self.attempted_by
        fetch = self._sql["fetch_jobs"]
        async with self.pool.connection() as conn:
            # Binary results: the rows (timestamps, arrays) decode faster.
            if global_limit is None:
                cur = await conn.execute(fetch, params, binary=True)
            else:  # one round trip all the same: BEGIN, lock, fetch, COMMIT
                async with conn.pipeline(), conn.transaction():
                    lock = {"prefix": self.prefix, "queue": queue}
                    await conn.execute(self._sql["lock_queue"], lock)
                    cur = await conn.execute(fetch, params, binary=True)
            rows = await cur.fetchall()
        self.health.ok()
        return leased_jobs(rows)

    async def ack(self, acks: list[Ack]) -> int:
        """Write outcomes; returns how many jobs were still executing under their lease."""
        return len(await self._rows(self._sql["ack_jobs"], ack_params(acks, self.producer_id)))

    async def hand_back(self, queues: list[str], keep: set[int]) -> int:
        """Jobs leased here but not held (``keep``) back to available, attempt given back."""
        params = {"producer": self.producer_id, "queues": queues, "keep": sorted(keep)}
        return len(await self._rows(self._sql["hand_back_jobs"], params))

    async def reconcile(self, queue: str, keep: set[int]) -> list[tuple[Any, ...]]:
        """Rescue jobs executing under this process that it does not hold (lost acks)."""
        params = {"producer": self.producer_id, "queues": [queue], "keep": sorted(keep)}
        return await self._rows(self._sql["reconcile_jobs"], params)

    async def stage(self, limit: int, channel: str | None) -> dict[str, int]:
        """Make due scheduled and retryable jobs available; jobs staged per queue."""
        rows = await self._rows(self._sql["stage_jobs"], {"limit": limit, "channel": channel})
        return dict(rows)

    async def queue_controls(self, queues: list[str]) -> list[tuple[Any, ...]]:
        """(name, paused, local_limit) of the queues that have a row in piiq_queues."""
        return await self._rows(self._sql["queue_controls"], {"queues": queues})

    async def schema_ready(self) -> bool:
        return bool((await self._rows(self._sql["schema_check"], {}))[0][0])

    async def run_steps(self, steps: Steps[PassSummary]) -> PassSummary:
        """A maintenance pass (rescue or prune: see _maintenance.py) on a pooled connection."""
        async with self.pool.connection() as conn:
            summary = await run_async(conn, steps)
        self.health.ok()
        return summary

    async def insert_durably(self, client: Any, jobs: Sequence[Job]) -> list[Job]:
        """Insert ``jobs`` with ``client`` on a pooled connection, waiting for the WAL flush
        (our connections skip it for fetches and acks; an insert is the caller's data)."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(self._sql["durable_commit"])
            stored: list[Job] = await client.ainsert_all(jobs, conn=conn)
        self.health.ok()
        return stored

    async def stop_producer(self) -> None:
        await self._rows(self._sql["stop_producer"], {"uuid": self.producer_id})

    # The heartbeat's session -------------------------------------------------------------

    async def lock_session(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Take this process's session lock on ``conn`` (held until the session ends)."""
        await conn.execute(self._sql["lock_session"], {"uuid": self.producer_id})

    async def register(
        self, conn: psycopg.AsyncConnection[Any], queues: list[str], heartbeat_interval: float
    ) -> None:
        params = {
            "uuid": self.producer_id,
            "node": self.node,
            "pid": os.getpid(),
            "queues": queues,
            "heartbeat_interval": heartbeat_interval,
        }
        await conn.execute(self._sql["register_producer"], params)

    async def beat(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        """Move heartbeat_at on; False when this process's row is gone (forgotten)."""
        cur = await conn.execute(self._sql["heartbeat"], {"uuid": self.producer_id})
        # Not counted as database contact: the probes watch the pool, which this skips.
        return bool(await cur.fetchall())

    # Notifications -----------------------------------------------------------------------

    @staticmethod
    async def listen(conn: psycopg.AsyncConnection[Any], channels: Sequence[str]) -> None:
        for channel in channels:  # LISTEN takes no parameters: the name is quoted here
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
