"""At-least-once jobs, exactly-once effects: leases, lost acks, records, timeouts, shutdown.

Each test reproduces a hole of the security review against a real PostgreSQL and a real
runner: a lost ack stuck under a live worker, a stale lease acking a newer one,
``Job.record`` failing silently or on a dropped connection, hung jobs, refunded attempts at
shutdown, heartbeats starved by a busy pool.
"""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest

from piiq.queue import Client, Job, LeaseLost, Worker, load_sql
from piiq.queue._outcome import Ack, ack_params
from tests.support.queue_helpers import load, running, wait_for

from .test_maintenance import make_job, sql


class Quick(Worker):
    queue = "lease"
    sensitive_args = ("text",)

    async def perform(self, job: Job) -> None:
        return None


def test_a_stale_lease_cannot_ack_a_newer_one(queue_client: Client) -> None:
    """A lease lost in a database crash gives the next lease the same attempt number:
    only the process named in attempted_by may write the outcome."""
    job_id = make_job(queue_client, "executing", attempt=1, attempted_by=["node-b", "newer"])
    ack_sql = load_sql("ack_jobs.sql", queue_client.prefix)
    with queue_client.connect(autocommit=True) as conn:
        stale = conn.execute(ack_sql, ack_params([Ack(job_id, 1, "completed")], "older"))
        assert stale.fetchall() == []
        assert load(queue_client, job_id).state == "executing"
        current = conn.execute(ack_sql, ack_params([Ack(job_id, 1, "completed")], "newer"))
        assert len(current.fetchall()) == 1
    assert load(queue_client, job_id).state == "completed"


async def test_an_ack_lost_in_a_crash_is_reconciled_under_a_live_worker(
    queue_client: Client,
) -> None:
    """The row of a finished job reverts to executing (what a PostgreSQL crash does to an
    ack committed with synchronous_commit=off). Its worker lives, so no rescue touches it;
    the worker's own check finds it and runs it again, scrubbed at the end."""
    stored = queue_client.insert(Quick.new({"text": "call me at 555-0100"}))
    async with running(queue_client, {"lease": 2}, reconcile_interval=0.3) as runner:
        await wait_for(lambda: load(queue_client, stored.id).state == "completed")
        sql(
            queue_client,
            "UPDATE {p}.oban_jobs SET state = 'executing', completed_at = NULL, "
            'args = \'{"text": "call me at 555-0100"}\' WHERE id = %s',
            (stored.id,),
        )
        await wait_for(lambda: runner.outcomes["completed"] == 2)
        await wait_for(lambda: load(queue_client, stored.id).state == "completed")
    job = load(queue_client, stored.id)
    assert job.attempt == 2 and job.meta["rescued"] == 1
    assert "an acknowledgement lost in a database crash" in job.errors[0]["error"]
    assert job.args == {"text": "scrubbed"}


def executing_job(client: Client, producer: str = "p-1") -> Job:
    job_id = make_job(client, "executing", attempt=1, attempted_by=["node-a", producer])
    job = load(client, job_id)
    job.client = client
    return job


def test_record_survives_a_terminated_connection(queue_client: Client) -> None:
    client = Client(queue_client.database_url, prefix=queue_client.prefix, pool_size=1)
    try:
        job = executing_job(client)
        job.record(step_one="done")
        with client.connection() as conn:
            pid = conn.info.backend_pid
        sql(queue_client, "SELECT pg_terminate_backend(%s)", (pid,))
        job.record(step_two="done")  # the pooled connection is dead: retried on a new one
    finally:
        client.close()
    meta = load(queue_client, job.id).meta
    assert meta["step_one"] == "done" and meta["step_two"] == "done"


def test_record_says_so_when_the_job_left_executing(queue_client: Client) -> None:
    client = Client(queue_client.database_url, prefix=queue_client.prefix)
    try:
        job = executing_job(client)
        sql(queue_client, "UPDATE {p}.oban_jobs SET state = 'cancelled' WHERE id = %s", (job.id,))
        with pytest.raises(LeaseLost, match=f"job {job.id} is no longer executing"):
            job.record(dm_sent="yes")
        other = executing_job(client, producer="someone-else")
        other.attempted_by = ["node-a", "me"]  # a lease that is not the current one
        with pytest.raises(LeaseLost):
            other.record(dm_sent="yes")
    finally:
        client.close()
    assert "dm_sent" not in load(queue_client, job.id).meta


class Hangs(Worker):
    """A sync perform that ignores its timeout, then tries to record a step."""

    queue = "hang"
    timeout = 0.3
    release = threading.Event()
    finished = threading.Event()
    record_error: list[BaseException] = []

    def perform(self, job: Job) -> None:
        assert Hangs.release.wait(10), "never released"
        try:
            job.record(late_step="done")
        except LeaseLost as exc:
            Hangs.record_error.append(exc)
        Hangs.finished.set()


class Fast(Worker):
    queue = "hang"

    def perform(self, job: Job) -> None:
        return None


async def test_timeout_fails_the_attempt_and_frees_the_slot(queue_client: Client) -> None:
    Hangs.release.clear()
    hung = queue_client.insert(Hangs.new({}))
    async with running(queue_client, {"hang": 1}):
        await wait_for(lambda: load(queue_client, hung.id).state == "retryable")
        fast = queue_client.insert(Fast.new({}))
        # the timed-out thread still hangs, yet the queue's one slot runs the next job
        await wait_for(lambda: load(queue_client, fast.id).state == "completed")
        assert not Hangs.finished.is_set()
        Hangs.release.set()
        await wait_for(Hangs.finished.is_set, within=5)
    job = load(queue_client, hung.id)
    assert job.attempt == 1
    assert [e["error"] for e in job.errors] == ["timed out after 0.3 s"]
    assert "late_step" not in job.meta  # the given-up attempt recorded nothing
    assert Hangs.record_error and "timed out after 0.3 s" in str(Hangs.record_error[0])


class Outlives(Worker):
    queue = "grace"

    async def perform(self, job: Job) -> None:
        await asyncio.sleep(30)


async def test_a_job_cut_off_at_the_grace_uses_its_attempt(queue_client: Client) -> None:
    retried = queue_client.insert(Outlives.new({}))
    last = queue_client.insert(Outlives.new({}, max_attempts=1))
    async with running(queue_client, {"grace": 2}, shutdown_grace=0.3):
        await wait_for(
            lambda: all(load(queue_client, j.id).state == "executing" for j in (retried, last))
        )
    job = load(queue_client, retried.id)
    assert (job.state, job.attempt) == ("retryable", 1)  # not handed back with a refund
    assert job.errors[0]["error"] == "cut off at shutdown: still running after the 0.3 s grace"
    assert load(queue_client, last.id).state == "discarded"  # no endless loop


async def test_heartbeats_go_on_while_the_pool_is_exhausted(queue_client: Client) -> None:
    async with running(queue_client, {"lease": 1}, heartbeat_interval=0.2) as runner:
        held = [await runner.pool.getconn() for _ in range(runner.pool.max_size)]
        try:
            query = "SELECT heartbeat_at FROM {p}.piiq_producers WHERE uuid = %s"
            (before,) = sql(queue_client, query, (runner.producer_id,))[0]
            runner.signals.heartbeat.clear()
            for _ in range(2):  # beats, every one a statement on its own connection
                await runner.signals.heartbeat.wait()
            (after,) = sql(queue_client, query, (runner.producer_id,))[0]
        finally:
            for conn in held:
                await runner.pool.putconn(conn)
    assert after > before, "the heartbeat waited for the busy pool"


async def test_shutdown_releases_the_session_lock(queue_client: Client) -> None:
    """The key rescue_jobs.sql tries is held while the worker runs, free once it stopped."""
    lock = "SELECT pg_try_advisory_lock(1885956465, hashtext(%s))"
    with psycopg.connect(queue_client.database_url, autocommit=True) as probe:
        async with running(queue_client, {"lease": 1}) as runner:
            assert probe.execute(lock, (runner.producer_id,)).fetchone()[0] is False
        # the server ends the closed session a moment later
        await wait_for(lambda: probe.execute(lock, (runner.producer_id,)).fetchone()[0])
