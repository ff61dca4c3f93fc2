"""Rescue in seconds, never of a live worker: the database session is the liveness signal.

Each worker process holds a session advisory lock on its heartbeat connection. A rescuer
that can take the lock knows the process's session is gone. The heartbeat timeout in
these tests is 300 s, so only the session can explain a rescue.
"""

from __future__ import annotations

import signal
import subprocess

import psycopg
import pytest
from queue_helpers import load, running, wait_for

from piiq.queue import Client, Job, MaintenanceOptions
from piiq.queue.maintenance import rescue_steps

from .test_maintenance import make_job, run_pass, sql

LOCK = "SELECT pg_advisory_lock(1885956465, hashtext(%s))"  # what lock_session.sql takes
NO_HEARTBEAT_RESCUE = MaintenanceOptions(
    prune_max_age=None, rescue_after=None, heartbeat_timeout=300
)


def add_locking_producer(client: Client, uuid: str, *, beat_ago: float) -> None:
    sql(
        client,
        "INSERT INTO {p}.piiq_producers "
        "(uuid, node, pid, queues, heartbeat_at, session_lock, heartbeat_interval) "
        "VALUES (%s, 'node-s', 1, '{q}', timezone('UTC', now()) - make_interval(secs => %s), "
        "true, 0.2)",
        (uuid, beat_ago),
    )


def test_a_free_session_lock_means_the_worker_is_gone(queue_client: Client) -> None:
    add_locking_producer(queue_client, "gone", beat_ago=2)
    add_locking_producer(queue_client, "alive", beat_ago=2)  # slow to beat, session holds
    add_locking_producer(queue_client, "reconnecting", beat_ago=0)  # lock free a moment
    jobs = {
        uuid: make_job(queue_client, "executing", attempt=1, attempted_by=["node-s", uuid])
        for uuid in ("gone", "alive", "reconnecting")
    }
    with psycopg.connect(queue_client.database_url, autocommit=True) as holder:
        holder.execute(LOCK, ("alive",))
        summary = run_pass(queue_client, rescue_steps(queue_client.prefix, NO_HEARTBEAT_RESCUE))
    assert summary.rescued == 1
    rescued = load(queue_client, jobs["gone"])
    assert rescued.state == "available" and rescued.meta["rescued"] == 1
    assert "lost its database session" in rescued.errors[-1]["error"]
    assert load(queue_client, jobs["alive"]).state == "executing"
    assert load(queue_client, jobs["reconnecting"]).state == "executing"


def spawn_worker(piiq_command, env, node: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*piiq_command, "worker", "--import", "sample_workers", "--queue", "work=2",
         "--node", node, "--heartbeat-interval", "0.5", "--heartbeat-timeout", "300s"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def executing_under(client: Client, node: str) -> list[int]:
    rows = sql(
        client,
        "SELECT id FROM {p}.oban_jobs WHERE state = 'executing' AND attempted_by[1] = %s",
        (node,),
    )
    return [r[0] for r in rows]


@pytest.mark.slow
async def test_a_kill_9_workers_jobs_are_rescued_by_its_session(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    ids = [
        j.id
        for j in queue_client.insert_all(
            [
                Job(worker="sample_workers.Sleepy", queue="work", args={"seconds": 120})
                for _ in range(2)
            ]
        )
    ]
    victim = spawn_worker(piiq_command, subprocess_env, "victim")
    try:
        await wait_for(lambda: len(executing_under(queue_client, "victim")) == 2, within=60)
        # the rescuer: a live worker of another queue, doing only its in-process rescue
        async with running(
            queue_client, {"other": 1}, maintenance=NO_HEARTBEAT_RESCUE, rescue_interval=0.2
        ):
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            await wait_for(
                lambda: all(load(queue_client, i).state == "available" for i in ids), within=30
            )
    finally:
        victim.kill()
        victim.wait(timeout=10)
    for job_id in ids:
        job = load(queue_client, job_id)
        assert job.attempt == 1 and job.meta["rescued"] == 1
        assert "(its lock is free)" in job.errors[-1]["error"]


@pytest.mark.slow
async def test_a_live_but_slow_workers_jobs_are_never_rescued(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    """Its job runs 6 s under a rescuer passing every 0.2 s, and its heartbeat connection
    is cut meanwhile (the lock is free until it reconnects): nothing is rescued."""
    (stored,) = queue_client.insert_all(
        [Job(worker="sample_workers.Sleepy", queue="work", args={"seconds": 6})]
    )
    worker = spawn_worker(piiq_command, subprocess_env, "slowpoke")
    try:
        await wait_for(lambda: executing_under(queue_client, "slowpoke") == [stored.id], within=60)
        async with running(
            queue_client, {"other": 1}, maintenance=NO_HEARTBEAT_RESCUE, rescue_interval=0.2
        ):
            cut = sql(
                queue_client,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'piiq heartbeat slowpoke'",
            )
            assert cut == [(True,)], "the worker's heartbeat connection was not found"
            await wait_for(lambda: load(queue_client, stored.id).state == "completed", within=60)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()
        worker.wait(timeout=10)
    job = load(queue_client, stored.id)
    assert job.attempt == 1 and job.errors == [] and "rescued" not in job.meta
