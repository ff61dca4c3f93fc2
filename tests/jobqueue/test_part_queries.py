"""The statements gateway (_queries.py) against a real PostgreSQL: each statement's
contract, as the runner's parts rely on it."""

from __future__ import annotations

import psycopg

from piiq.queue import Client, Job
from piiq.queue._outcome import Ack
from piiq.queue._queries import DB_ERRORS, DatabaseHealth, Queries

from .test_maintenance import load, make_job, sql


def jobs(client: Client, *priorities: int, queue: str = "q") -> list[Job]:
    return client.insert_all([Job(worker="app.W", queue=queue, priority=p) for p in priorities])


async def test_a_fetch_writes_the_outcomes_it_carries_and_leases_in_order(
    queries: Queries, queue_client: Client
) -> None:
    low, high, middle = jobs(queue_client, 3, 0, 1)
    leased, allowed = await queries.fetch("q", 2, None, [])
    assert [j.id for j in leased] == [high.id, middle.id] and allowed == 2
    for job in leased:
        assert (job.state, job.attempt, job.attempted_by) == ("executing", 1, queries.attempted_by)
    acks = [Ack(j.id or 0, 1, "completed") for j in leased]
    more, _ = await queries.fetch("q", 5, None, acks)
    assert [j.id for j in more] == [low.id]
    assert [load(queue_client, j.id or 0).state for j in leased] == ["completed", "completed"]
    assert load(queue_client, low.id or 0).state == "executing"


async def test_an_empty_fetch_returns_no_job(queries: Queries) -> None:
    assert await queries.fetch("nothing-here", 10, None, []) == ([], 10)


async def test_the_global_limit_counts_every_process(
    queries: Queries, queue_client: Client
) -> None:
    jobs(queue_client, 0, 0, 0, 0)
    sql(queue_client, "UPDATE {p}.oban_jobs SET state = 'executing' WHERE id = "
        "(SELECT min(id) FROM {p}.oban_jobs)")  # fmt: skip
    leased, allowed = await queries.fetch("q", 10, 3, [])
    assert (len(leased), allowed) == (2, 2)  # one executing elsewhere, two more allowed


async def test_only_the_leasing_process_writes_an_outcome(
    queries: Queries, queue_client: Client
) -> None:
    jobs(queue_client, 0)
    (job,), _ = await queries.fetch("q", 1, None, [])
    stranger = Queries(
        queries.database_url, queries.prefix, "other", "someone-else", DatabaseHealth(1)
    )
    stranger._pool = queries.pool  # same pool, another process's lease
    assert await stranger.ack([Ack(job.id or 0, 1, "completed")]) == 0
    assert await queries.ack([Ack(job.id or 0, 1, "completed")]) == 1


async def test_hand_back_gives_the_attempt_back_except_to_held_jobs(
    queries: Queries, queue_client: Client
) -> None:
    jobs(queue_client, 0, 0)
    (kept, returned), _ = await queries.fetch("q", 2, None, [])
    assert await queries.hand_back(["q"], keep={kept.id or 0}) == 1
    assert (
        load(queue_client, returned.id or 0).state,
        load(queue_client, returned.id or 0).attempt,
    ) == ("available", 0)
    assert load(queue_client, kept.id or 0).state == "executing"


async def test_stage_makes_due_jobs_available_and_announces_them(
    queries: Queries, queue_client: Client
) -> None:
    due = make_job(queue_client, "scheduled", ago={"scheduled_at": 5}, queue="later")
    not_due = make_job(queue_client, "retryable", ago={"scheduled_at": -3600}, queue="later")
    channel = queue_client.insert_channel
    with psycopg.connect(queue_client.database_url or "", autocommit=True) as listener:
        listener.execute(f'LISTEN "{channel}"')
        assert await queries.stage(100, channel) == {"later": 1}
        (notice,) = list(listener.notifies(timeout=5, stop_after=1))
    assert notice.payload == '{"queue" : "later"}'
    assert load(queue_client, due).state == "available"
    assert load(queue_client, not_due).state == "retryable"


async def test_a_success_counts_as_database_contact(queries: Queries) -> None:
    queries.health.last_ok = 0.0
    await queries.fetch("q", 1, None, [])
    assert queries.health.last_ok > 0.0


async def test_a_lost_connection_then_backoff_then_recovery(
    queries: Queries, queue_client: Client, log_lines
) -> None:
    """The pool's connections are terminated: the next statement fails with a database
    error; each report waits longer (doubling, capped); the next success says how long
    the database was away."""
    await queries.fetch("q", 1, None, [])  # the pool has a connection to lose
    cut = sql(
        queue_client,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (f"piiq worker {queries.node}",),
    )
    assert cut and all(ok for (ok,) in cut)
    mark = len(log_lines.lines)
    failures: list[BaseException] = []
    while True:  # the pool's idle connections may all be terminated ones
        try:
            await queries.fetch("q", 1, None, [])
            break
        except DB_ERRORS as exc:
            failures.append(exc)
            assert len(failures) <= 3
            await queries.health.trouble("fetch", exc)
    assert failures
    events = log_lines.since(mark)
    waits = [e["retry_in_s"] for e in events if e["event"] == "database.unavailable"]
    assert waits == [0.05, 0.1, 0.2][: len(failures)]
    (recovered,) = [e for e in events if e["event"] == "database.recovered"]
    assert recovered["down_s"] >= 0.05


async def test_the_wait_doubles_up_to_reconnect_max(queue_client: Client, log_lines) -> None:
    health = DatabaseHealth(reconnect_max=0.2)
    mark = len(log_lines.lines)
    for _ in range(4):
        await health.trouble("ack", psycopg.OperationalError("server closed the connection"))
    waits = [e["retry_in_s"] for e in log_lines.since(mark) if e["event"] == "database.unavailable"]
    assert waits == [0.05, 0.1, 0.2, 0.2]
