"""Inserting jobs: validation, bulk, transactions, scheduling, uniqueness, notifications."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest

from piiq.queue import Client, Job, JobError, Unique, Worker
from piiq.queue._job import utcnow


class Scan(Worker):
    queue = "events"
    max_attempts = 3
    tags = ("slack",)


class Unique5(Worker):
    queue = "events"
    unique = Unique(keys=("event_id",))


def count(client: Client, where: str = "true") -> int:
    with client.connect() as conn:
        return conn.execute(
            f'SELECT count(*) FROM "{client.prefix}".oban_jobs WHERE {where}'
        ).fetchone()[0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Scan.new(["not", "a", "dict"]), "must be a JSON object"),
        (lambda: Scan.new({}, queue=""), "queue name '' must be a string of 1 to 127"),
        (lambda: Scan.new({}, queue="q" * 128), "1 to 127 characters"),
        (lambda: Scan.new({}, priority=10), "priority 10 is out of range: use 0"),
        (lambda: Scan.new({}, priority=-1), "priority -1 is out of range"),
        (lambda: Scan.new({}, max_attempts=0), "max_attempts 0 must be an integer of 1 or more"),
        (lambda: Scan.new({}, schedule_in=5, scheduled_at=utcnow()), "not both"),
        (lambda: Scan.new({}, schedule_in=-1), "must not be negative"),
        (lambda: Scan.new({}, tags=[1]), "must all be strings"),
    ],
)
def test_bad_jobs_are_refused_with_the_value_named(make, message) -> None:
    with pytest.raises(JobError, match=message):
        make()


def test_args_that_are_not_json_are_refused_naming_the_worker(queue_client: Client) -> None:
    with pytest.raises(JobError, match=r"job args for .*Scan are not JSON-serialisable"):
        queue_client.insert(Scan.new({"when": object()}))
    assert count(queue_client) == 0


def test_insert_returns_the_stored_job(queue_client: Client) -> None:
    job = queue_client.insert(Scan.new({"channel": "C1"}, meta={"trace": "t1"}))
    assert job.id is not None and job.state == "available" and not job.conflict
    with queue_client.connect() as conn:
        row = conn.execute(
            f'SELECT worker, queue, args, max_attempts, tags, meta, state::text FROM "{queue_client.prefix}".oban_jobs'
        ).fetchone()
    assert row == (
        Scan.name,
        "events",
        {"channel": "C1"},
        3,
        ["slack"],
        {"trace": "t1"},
        "available",
    )


def test_scheduled_jobs(queue_client: Client) -> None:
    later = queue_client.insert(Scan.new({}, schedule_in=60))
    at = queue_client.insert(Scan.new({}, scheduled_at=utcnow() + timedelta(hours=1)))
    past = queue_client.insert(Scan.new({}, scheduled_at=utcnow() - timedelta(hours=1)))
    assert later.state == "scheduled" and at.state == "scheduled"
    assert past.state == "available"
    assert timedelta(seconds=55) < later.scheduled_at - later.inserted_at < timedelta(seconds=65)


def test_bulk_insert_in_one_statement(queue_client: Client) -> None:
    jobs = queue_client.insert_all([Scan.new({"i": i}) for i in range(5000)])
    assert len(jobs) == 5000
    assert [j.args["i"] for j in jobs] == list(range(5000))
    assert [j.id for j in jobs] == sorted(j.id for j in jobs)
    assert count(queue_client) == 5000


def test_insert_on_the_callers_transaction(queue_client: Client) -> None:
    with queue_client.connect() as conn:
        queue_client.insert(Scan.new({"n": 1}), conn=conn)
        conn.rollback()
    assert count(queue_client) == 0
    with queue_client.connect() as conn:
        queue_client.insert_all([Scan.new({"n": 2}), Scan.new({"n": 3})], conn=conn)
        assert count(queue_client) == 0  # not committed yet: invisible to others
        conn.commit()
    assert count(queue_client) == 2


def test_unique_conflict_returns_the_existing_job(queue_client: Client) -> None:
    first = queue_client.insert(Unique5.new({"event_id": "Ev1", "text": "a"}))
    again = queue_client.insert(Unique5.new({"event_id": "Ev1", "text": "b"}))
    other = queue_client.insert(Unique5.new({"event_id": "Ev2"}))
    assert again.conflict and again.id == first.id and again.args["text"] == "a"
    assert not other.conflict and other.id != first.id
    assert count(queue_client) == 2


def test_unique_explicit_key_and_bulk(queue_client: Client) -> None:
    queue_client.insert(Scan.new({}, unique={"key": "Ev1"}))
    jobs = queue_client.insert_all(
        [
            Scan.new({"n": 1}, unique={"key": "Ev1"}),  # conflicts with a stored job
            Scan.new({"n": 2}, unique={"key": "Ev2"}),
            Scan.new({"n": 3}, unique={"key": "Ev2"}),  # conflicts within the batch
            Scan.new({"n": 4}),
        ]
    )
    assert [j.conflict for j in jobs] == [True, False, True, False]
    assert jobs[2].id == jobs[1].id
    assert count(queue_client) == 3


def test_unique_states_decide_how_long_a_key_blocks(queue_client: Client) -> None:
    job = queue_client.insert(Scan.new({"x": 1}, unique=True))
    with queue_client.connect() as conn:
        conn.execute(
            f"UPDATE \"{queue_client.prefix}\".oban_jobs SET state = 'completed' WHERE id = %s",
            (job.id,),
        )
    # completed is among the default states: still a duplicate
    assert queue_client.insert(Scan.new({"x": 1}, unique=True)).conflict
    # without completed in the states, a finished job no longer blocks
    loose = Unique(states=("available", "scheduled", "executing", "retryable"))
    assert not queue_client.insert(Scan.new({"x": 1}, unique=loose)).conflict


def test_unique_period_buckets(queue_client: Client) -> None:
    key = Unique(keys=("x",), period=3600)
    job = Scan.new({"x": 1}, unique=key)
    now = utcnow()
    assert key.key_for(job, now) != key.key_for(job, now + timedelta(hours=1))
    queue_client.insert(job)
    assert queue_client.insert(Scan.new({"x": 1}, unique=key)).conflict


def test_unique_states_must_cover_running_states() -> None:
    with pytest.raises(ValueError, match="must include available, scheduled, executing, retryable"):
        Unique(states=("available",))
    with pytest.raises(ValueError, match="are not job states"):
        Unique(states=("available", "scheduled", "executing", "retryable", "done"))


def test_concurrent_unique_inserts_make_one_job(queue_client: Client) -> None:
    barrier = threading.Barrier(8)
    results: list[Job] = []

    def insert() -> None:
        barrier.wait()
        results.append(queue_client.insert(Unique5.new({"event_id": "same"})))

    threads = [threading.Thread(target=insert) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(queue_client) == 1
    assert len({j.id for j in results}) == 1
    assert sum(not j.conflict for j in results) == 1


def _notifications(client: Client, action) -> list[str]:
    with psycopg.connect(client.database_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{client.insert_channel}"')
        action()
        return [n.payload for n in listener.notifies(timeout=0.5)]


def test_one_notification_per_queue_per_transaction(queue_client: Client) -> None:
    client = Client(queue_client.database_url, prefix=queue_client.prefix)

    def insert_in_one_transaction() -> None:
        with client.connect() as conn:
            client.insert_all([Scan.new({"i": i}) for i in range(50)], conn=conn)
            client.insert_all([Scan.new({}, queue="files") for _ in range(5)], conn=conn)
            client.insert(Scan.new({}, queue="later", schedule_in=60), conn=conn)

    payloads = _notifications(client, insert_in_one_transaction)
    assert sorted(payloads) == ['{"queue" : "events"}', '{"queue" : "files"}']


def test_notify_can_be_turned_off(queue_client: Client) -> None:
    client = Client(queue_client.database_url, prefix=queue_client.prefix, notify=False)
    assert _notifications(client, lambda: client.insert(Scan.new({}))) == []


def test_bulk_copy_path_keeps_order_schedules_and_rolls_back(queue_client: Client) -> None:
    jobs = [Scan.new({"i": i}, tags=["bulk"]) for i in range(300)]
    jobs[7] = Scan.new({"i": 7}, schedule_in=600)
    with queue_client.connect() as conn:
        stored = queue_client.insert_all(jobs, conn=conn)
        conn.rollback()
    assert count(queue_client) == 0  # COPY ran in the caller's transaction
    stored = queue_client.insert_all(jobs)
    assert [j.args["i"] for j in stored] == list(range(300))
    assert stored[7].state == "scheduled" and stored[8].state == "available"
    with queue_client.connect() as conn:
        rows = conn.execute(
            f'SELECT id, state::text, tags, args FROM "{queue_client.prefix}".oban_jobs ORDER BY id'
        ).fetchall()
    assert [r[0] for r in rows] == [j.id for j in stored]
    assert rows[7][1] == "scheduled" and rows[0][2] == ["bulk"] and rows[0][3] == {"i": 0}


def test_bulk_copy_path_names_a_job_that_is_not_json(queue_client: Client) -> None:
    jobs = [Scan.new({"i": i}) for i in range(100)]
    jobs[50].args = {"bad": {1, 2}}
    with pytest.raises(JobError, match="not JSON-serialisable"):
        queue_client.insert_all(jobs)
    assert count(queue_client) == 0
