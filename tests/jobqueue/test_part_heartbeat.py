"""The heartbeat (_heartbeat.py) against a real PostgreSQL: it holds the session lock
rescuers try, registers, beats, comes back after a lost connection, and lets the lock go
when it closes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from piiq.queue import Client
from piiq.queue._heartbeat import Heartbeat
from piiq.queue._queries import Queries
from piiq.queue._signals import Signals

from .test_maintenance import sql

TRY_LOCK = "SELECT pg_try_advisory_lock(1885956465, hashtext(%s))"  # lock_session.sql's key


def lock_is_free(client: Client, producer: str) -> bool:
    """Whether another session can take the process's lock (released at once if so)."""
    with psycopg.connect(client.database_url or "", autocommit=True) as probe:
        return bool(probe.execute(TRY_LOCK, (producer,)).fetchone()[0])  # type: ignore[index]


def row(client: Client, producer: str) -> tuple:
    (found,) = sql(
        client,
        "SELECT node, queues, session_lock, heartbeat_interval, heartbeat_at, stopped_at "
        "FROM {p}.piiq_producers WHERE uuid = %s",
        (producer,),
    )
    return found


@pytest.fixture
async def heartbeat(queries: Queries, signals: Signals) -> AsyncIterator[Heartbeat]:
    beat = Heartbeat(queries, queues=["a", "b"], interval=0.05, signals=signals)
    await beat.open()
    yield beat
    await beat.stop()
    await beat.close()


async def test_open_takes_the_lock_then_registers(
    heartbeat: Heartbeat, queries: Queries, queue_client: Client
) -> None:
    assert not lock_is_free(queue_client, queries.producer_id)
    node, queues, session_lock, interval, _, stopped = row(queue_client, queries.producer_id)
    assert (node, queues, session_lock, interval, stopped) == (
        queries.node, ["a", "b"], True, 0.05, None,
    )  # fmt: skip


async def test_beats_move_heartbeat_at_on(
    heartbeat: Heartbeat, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    first = row(queue_client, queries.producer_id)[4]
    heartbeat.start()
    await signals.heartbeat.wait()
    await signals.heartbeat.wait()
    assert row(queue_client, queries.producer_id)[4] > first


async def test_a_forgotten_process_registers_again(
    heartbeat: Heartbeat, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    sql(queue_client, "DELETE FROM {p}.piiq_producers WHERE uuid = %s", (queries.producer_id,))
    heartbeat.start()
    await signals.heartbeat.wait()
    assert row(queue_client, queries.producer_id)[0] == queries.node


async def test_a_lost_connection_is_replaced_and_locked_again(
    heartbeat: Heartbeat, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    heartbeat.start()
    await signals.heartbeat.wait()
    cut = sql(
        queue_client,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (f"piiq heartbeat {queries.node}",),
    )
    assert cut == [(True,)]
    signals.heartbeat.clear()
    await signals.heartbeat.wait()  # a beat on a new connection, which took the lock first
    assert not lock_is_free(queue_client, queries.producer_id)


async def test_close_lets_the_lock_go(
    heartbeat: Heartbeat, queries: Queries, queue_client: Client
) -> None:
    await heartbeat.close()
    assert lock_is_free(queue_client, queries.producer_id)
