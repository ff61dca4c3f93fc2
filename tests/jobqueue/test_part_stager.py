"""The stager (_stager.py) against a real PostgreSQL: due jobs become available and their
queues are woken; jobs not yet due stay."""

from __future__ import annotations

from piiq.queue import Client
from piiq.queue._queries import Queries
from piiq.queue._signals import Signals
from piiq.queue._stager import Stager

from .test_maintenance import load, make_job


async def test_due_jobs_become_available_and_wake_their_queue(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    due = [
        make_job(queue_client, "scheduled", ago={"scheduled_at": 1}, queue="mail"),
        make_job(queue_client, "retryable", ago={"scheduled_at": 1}, queue="mail"),
        make_job(queue_client, "retryable", ago={"scheduled_at": 1}, queue="sms"),
    ]
    later = make_job(queue_client, "scheduled", ago={"scheduled_at": -600}, queue="mail")
    woken: list[str] = []
    stager = Stager(
        lambda: queries.stage(100, None),
        interval=3600,
        on_staged=woken.append,
        health=queries.health,
        signals=signals,
    )
    stager.start()
    try:
        assert await signals.staged.wait() == {"mail": 2, "sms": 1}
    finally:
        await stager.stop()
    assert sorted(woken) == ["mail", "sms"]
    assert [load(queue_client, i).state for i in due] == ["available"] * 3
    assert load(queue_client, later).state == "scheduled"


async def test_a_stage_pass_repeats_every_interval(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    stager = Stager(
        lambda: queries.stage(100, None),
        interval=0.01,
        on_staged=lambda queue: None,
        health=queries.health,
        signals=signals,
    )
    stager.start()
    try:
        assert await signals.staged.wait() == {}
        job = make_job(queue_client, "scheduled", ago={"scheduled_at": 1}, queue="mail")
        assert await signals.staged.wait(lambda staged: bool(staged)) == {"mail": 1}
    finally:
        await stager.stop()
    assert load(queue_client, job).state == "available"
