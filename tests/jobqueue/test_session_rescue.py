"""Rescue in seconds, never of a live worker: the database session is the liveness signal.

Each worker process holds a session advisory lock on its heartbeat connection. A rescuer
that can take the lock knows the process's session is gone. The heartbeat timeout in
these tests is 300 s, so only the session can explain a rescue.
"""

from __future__ import annotations

import asyncio
import signal
import time

import psycopg
import pytest

from piiq.queue import Client, Job, MaintenanceOptions
from piiq.queue._maintenance import rescue_steps
from tests.support import sample_workers
from tests.support.queue_helpers import WorkerProcess, load, running

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


HEARTBEAT = 0.5  # the workers' --heartbeat-interval
RESCUE_INTERVAL = 0.2  # the rescuer's pass interval
# A dead session's jobs: its lock is tried once it missed two heartbeats (rescue_jobs.sql:
# 2 x interval + 0.5 s), and the next pass takes them; 1.7 s here. Asserted with room for
# a busy machine, far below the 300 s heartbeat timeout (and Oban's 30 min Lifeline).
RESCUE_BOUND_S = 5.0


def spawn_worker(piiq_command, env, node: str) -> WorkerProcess:
    return WorkerProcess(
        [*piiq_command, "worker", "--import", sample_workers.__name__, "--queue", "work=2",
         "--node", node, "--heartbeat-interval", str(HEARTBEAT), "--heartbeat-timeout", "300s"],
        env,
    )  # fmt: skip


def executing_under(client: Client, node: str) -> list[int]:
    rows = sql(
        client,
        "SELECT id FROM {p}.oban_jobs WHERE state = 'executing' AND attempted_by[1] = %s",
        (node,),
    )
    return [r[0] for r in rows]


def long_jobs(client: Client, count: int, seconds: float = 120) -> list[int]:
    jobs = [
        Job(worker=sample_workers.Sleepy.name, queue="work", args={"seconds": seconds})
        for _ in range(count)
    ]
    return [job.id or 0 for job in client.insert_all(jobs)]


def rescuer(client: Client, options: MaintenanceOptions = NO_HEARTBEAT_RESCUE):
    """A live worker of another queue doing only its in-process rescue, every 0.2 s."""
    return running(client, {"other": 1}, maintenance=options, rescue_interval=RESCUE_INTERVAL)


@pytest.mark.slow
async def test_a_kill_9_workers_jobs_are_rescued_by_its_session_within_seconds(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    ids = long_jobs(queue_client, 2)
    victim = spawn_worker(piiq_command, subprocess_env, "victim")
    try:
        await asyncio.to_thread(victim.wait_until, lambda w: w.count("job.started") == 2)
        async with rescuer(queue_client) as runner:
            await runner.signals.rescued.wait()  # rescuing, and nothing to rescue yet
            assert await asyncio.to_thread(victim.stop, signal.SIGKILL) == -signal.SIGKILL
            killed = time.monotonic()
            summary = await runner.signals.rescued.wait(lambda s: s.rescued > 0, within=30)
            took = time.monotonic() - killed
    finally:
        victim.kill()
    assert summary.rescued == 2 and summary.rescued_by_queue == {"work": 2}
    assert took < RESCUE_BOUND_S, f"rescued {took:.1f} s after the kill"
    for job_id in ids:
        job = load(queue_client, job_id)
        assert (job.state, job.attempt, job.meta["rescued"]) == ("available", 1, 1)
        assert "(its lock is free)" in job.errors[-1]["error"]


@pytest.mark.slow
async def test_a_live_but_slow_workers_jobs_are_never_rescued(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    """Its job runs 6 s under a rescuer passing every 0.2 s, and its heartbeat connection
    is cut meanwhile (the lock is free until it reconnects): no pass rescues anything."""
    (job_id,) = long_jobs(queue_client, 1, seconds=6)
    worker = spawn_worker(piiq_command, subprocess_env, "slowpoke")
    try:
        await asyncio.to_thread(worker.wait_until, lambda w: w.count("job.started") == 1)
        async with rescuer(queue_client) as runner:
            await runner.signals.rescued.wait()
            cut = sql(
                queue_client,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'piiq heartbeat slowpoke'",
            )
            assert cut == [(True,)], "the worker's heartbeat connection was not found"
            passes = 0
            while executing_under(queue_client, "slowpoke"):
                summary = await runner.signals.rescued.wait()
                assert (summary.rescued, summary.discarded) == (0, 0)
                passes += 1
        await asyncio.to_thread(worker.wait_until, lambda w: w.count("job.completed") == 1)
        assert await asyncio.to_thread(worker.stop, signal.SIGTERM) == 0
    finally:
        worker.kill()
    assert passes >= 10  # rescue passes that saw the job executing and left it alone
    job = load(queue_client, job_id)
    assert (job.state, job.attempt, job.errors) == ("completed", 1, [])
    assert "rescued" not in job.meta


@pytest.mark.slow
async def test_a_hung_workers_jobs_are_rescued_by_the_heartbeat_timeout(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    """SIGSTOP: the process lives and its session holds the lock, but it neither works
    nor beats. The heartbeat is the fallback: rescued once silent for the timeout."""
    ids = long_jobs(queue_client, 2)
    hung = spawn_worker(piiq_command, subprocess_env, "hung")
    timeout = 2.0
    fallback = MaintenanceOptions(prune_max_age=None, rescue_after=None, heartbeat_timeout=timeout)
    try:
        await asyncio.to_thread(hung.wait_until, lambda w: w.count("job.started") == 2)
        async with rescuer(queue_client, fallback) as runner:
            hung.proc.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            summary = await runner.signals.rescued.wait(lambda s: s.rescued > 0, within=30)
            took = time.monotonic() - stopped
    finally:
        hung.proc.send_signal(signal.SIGCONT)
        hung.kill()
    assert summary.rescued == 2
    assert took < timeout + RESCUE_BOUND_S, f"rescued {took:.1f} s after the hang"
    for job_id in ids:
        error = load(queue_client, job_id).errors[-1]["error"]
        assert "no heartbeat since" in error and "lock is free" not in error
