"""The acker (_acker.py) against a real PostgreSQL: outcomes written in batches, riding
on fetches, kept through a lost connection."""

from __future__ import annotations

from piiq.queue import Client, Job
from piiq.queue._acker import Acker
from piiq.queue._outcome import Ack
from piiq.queue._queries import Queries
from piiq.queue._signals import Signals

from .test_maintenance import load, sql


async def leased(queries: Queries, client: Client, count: int) -> list[int]:
    client.insert_all([Job(worker="app.W", queue="q") for _ in range(count)])
    jobs, _ = await queries.fetch("q", count, None, [])
    assert len(jobs) == count
    return [job.id or 0 for job in jobs]


def acker(queries: Queries, signals: Signals, writes: list[int], **knobs: float) -> Acker:
    return Acker(
        queries.ack,
        batch=int(knobs.get("batch", 100)),
        interval=knobs.get("interval", 0.05),
        on_written=lambda: writes.append(1),
        health=queries.health,
        signals=signals,
    )


def states(client: Client, ids: list[int]) -> list[str]:
    return [load(client, job_id).state for job_id in ids]


async def test_outcomes_wait_a_moment_then_go_in_one_statement(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    ids = await leased(queries, queue_client, 5)
    writes: list[int] = []
    part = acker(queries, signals, writes)
    for job_id in ids:
        part.add(Ack(job_id, 1, "completed"))
    assert part.held_ids() == set(ids)  # not written yet: still this process's
    assert sorted(await signals.acked.wait()) == ids  # one write for the five
    assert states(queue_client, ids) == ["completed"] * 5 and writes == [1]
    assert part.held_ids() == set()


async def test_a_full_batch_is_written_at_once(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    ids = await leased(queries, queue_client, 4)
    part = acker(queries, signals, [], batch=2, interval=3600)  # no timer would fire
    for job_id in ids:
        part.add(Ack(job_id, 1, "completed"))
    written = [await signals.acked.wait(), await signals.acked.wait()]
    assert sorted([*written[0], *written[1]]) == ids and all(len(w) == 2 for w in written)


async def test_outcomes_taken_by_a_fetch_are_held_until_it_settles(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    first, second = await leased(queries, queue_client, 2)
    part = acker(queries, signals, [], interval=3600)
    part.add(Ack(first, 1, "completed"))
    taken = part.take()
    assert part.held_ids() == {first}  # in flight with the fetch
    part.settle(taken, written=False)  # the fetch failed: kept for the next write
    taken = part.take()
    await queries.fetch("q", 1, None, taken)  # rides on a fetch
    part.settle(taken, written=True)
    assert await signals.acked.wait() == [first]
    assert part.held_ids() == set() and states(queue_client, [first, second]) == [
        "completed",
        "executing",
    ]


async def test_outcomes_survive_a_lost_connection(
    queries: Queries, queue_client: Client, signals: Signals, log_lines
) -> None:
    ids = await leased(queries, queue_client, 3)
    sql(
        queue_client,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (f"piiq worker {queries.node}",),
    )
    mark = len(log_lines.lines)
    part = acker(queries, signals, [], interval=0.01)
    for job_id in ids:
        part.add(Ack(job_id, 1, "completed"))
    assert sorted(await signals.acked.wait()) == ids
    assert states(queue_client, ids) == ["completed"] * 3
    troubles = [e for e in log_lines.since(mark) if e["event"] == "database.unavailable"]
    assert troubles and troubles[0]["during"] == "ack"  # the first write failed, then kept


async def test_stop_lets_the_write_under_way_finish_and_flush_writes_the_rest(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    ids = await leased(queries, queue_client, 3)
    part = acker(queries, signals, [], interval=0.0)
    part.add(Ack(ids[0], 1, "completed"))
    await part.stop()  # the write of the first may be under way: it ends
    part.add(Ack(ids[1], 1, "completed"))
    part.add(Ack(ids[2], 1, "retryable", delay=60.0))
    assert part.held_ids() >= {ids[1], ids[2]}  # closing: nothing written on its own
    assert await part.flush()
    assert states(queue_client, ids) == ["completed", "completed", "retryable"]
