"""The rescuer (_rescuer.py) against a real PostgreSQL: a dead session's jobs come back
at once, a hung process's after the heartbeat timeout, a live one's never."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from piiq.queue import Client, MaintenanceOptions, attach_telemetry, detach_telemetry
from piiq.queue._queries import Queries
from piiq.queue._rescuer import Rescuer
from piiq.queue._signals import Signals

from .test_maintenance import load, make_job, sql

LOCK = "SELECT pg_advisory_lock(1885956465, hashtext(%s))"  # what lock_session.sql takes


def producer(client: Client, uuid: str, *, beat_ago: float, interval: float = 0.2) -> int:
    """A worker process's row (as register_producer.sql writes it) and one job it runs."""
    sql(
        client,
        "INSERT INTO {p}.piiq_producers "
        "(uuid, node, pid, queues, heartbeat_at, session_lock, heartbeat_interval) "
        "VALUES (%s, 'node-r', 1, '{q}', timezone('UTC', now()) - make_interval(secs => %s), "
        "true, %s)",
        (uuid, beat_ago, interval),
    )
    return make_job(client, "executing", attempt=1, attempted_by=["node-r", uuid])


@pytest.fixture
def woken() -> list[str]:
    """The queues the rescuer woke (it gave them jobs back)."""
    return []


@pytest.fixture
async def rescuer(
    queries: Queries, queue_client: Client, signals: Signals, woken: list[str]
) -> AsyncIterator[Rescuer]:
    part = Rescuer(
        queries.run_steps,
        prefix=queue_client.prefix,
        options=MaintenanceOptions(prune_max_age=None, rescue_after=None, heartbeat_timeout=5),
        interval=0.05,
        on_rescued=woken.append,
        signals=signals,
    )
    yield part
    await part.stop()


async def test_a_dead_session_is_rescued_a_live_one_never(
    rescuer: Rescuer, queue_client: Client, signals: Signals, woken: list[str]
) -> None:
    events: list[dict] = []

    def handler(event: str, data: dict) -> None:
        if event == "jobs.rescued":
            events.append(data)

    dead = producer(queue_client, "dead", beat_ago=1)  # missed two beats, lock free
    slow = producer(queue_client, "slow", beat_ago=1)  # missed two beats, session holds
    attach_telemetry(handler)
    try:
        with psycopg.connect(queue_client.database_url or "", autocommit=True) as session:
            session.execute(LOCK, ("slow",))
            rescuer.start()
            first = await signals.rescued.wait()
            for _ in range(3):  # and again and again: the live one stays
                assert (await signals.rescued.wait()).rescued == 0
    finally:
        detach_telemetry(handler)
    assert (first.rescued, first.rescued_by_queue) == (1, {"q": 1})
    assert woken == ["q"]
    assert events == [{"queue": "q", "state": "available", "count": 1}]
    job = load(queue_client, dead)
    assert job.state == "available" and "lost its database session" in job.errors[-1]["error"]
    assert load(queue_client, slow).state == "executing"


async def test_a_hung_process_is_rescued_after_the_heartbeat_timeout(
    rescuer: Rescuer, queue_client: Client, signals: Signals
) -> None:
    """Its session lives (the lock is held) but it stopped beating 10 s ago, past the
    5 s timeout: the heartbeat is the fallback."""
    hung = producer(queue_client, "hung", beat_ago=10)
    with psycopg.connect(queue_client.database_url or "", autocommit=True) as session:
        session.execute(LOCK, ("hung",))
        summary = await rescuer.rescue()
    assert summary.rescued == 1
    assert "no heartbeat since" in load(queue_client, hung).errors[-1]["error"]


async def test_a_job_out_of_attempts_is_discarded(
    rescuer: Rescuer, queue_client: Client, woken: list[str]
) -> None:
    job_id = producer(queue_client, "dead", beat_ago=1)
    sql(queue_client, "UPDATE {p}.oban_jobs SET max_attempts = 1 WHERE id = %s", (job_id,))
    summary = await rescuer.rescue()
    assert (summary.rescued, summary.discarded) == (0, 1)
    assert woken == []  # nothing to run
    assert load(queue_client, job_id).state == "discarded"
