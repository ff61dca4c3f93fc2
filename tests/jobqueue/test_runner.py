"""The runner under stress: several workers, lost connections, notifications, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import psycopg
import pytest

from piiq.queue import Client, Job, Runner, RunnerOptions, Worker
from piiq.queue.inspection import queue_counts, recent_jobs
from tests.support import sample_workers
from tests.support.queue_helpers import WorkerProcess, load, running, wait_for


def states(client: Client) -> dict[str, int]:
    with client.connect() as conn:
        return queue_counts(conn, client.prefix).get("work", {})


class Recorded(Worker):
    queue = "work"
    runs: list[int] = []

    async def perform(self, job: Job) -> None:
        Recorded.runs.append(job.id)
        await asyncio.sleep(0.001)


async def test_two_workers_never_run_the_same_job(queue_client: Client) -> None:
    Recorded.runs.clear()
    queue_client.insert_all([Recorded.new({"i": i}) for i in range(600)])
    async with (
        running(queue_client, {"work": 10}) as one,
        running(queue_client, {"work": 10}) as two,
    ):
        await wait_for(lambda: one.outcomes["completed"] + two.outcomes["completed"] == 600)
        assert one.outcomes["completed"] > 50 and two.outcomes["completed"] > 50  # both worked
    assert len(Recorded.runs) == 600 and len(set(Recorded.runs)) == 600
    with queue_client.connect() as conn:
        attempts = conn.execute(
            f"SELECT count(*) FROM \"{queue_client.prefix}\".oban_jobs WHERE attempt = 1 AND state = 'completed'"
        ).fetchone()[0]
    assert attempts == 600


class TwoSteps(Worker):
    """Sends a (pretend) message, then crashes before finishing: the retry must not resend."""

    queue = "work"
    sent: list[int] = []

    def backoff(self, job: Job) -> float:
        return 0.1

    def perform(self, job: Job) -> None:
        if "sent" not in job.meta:
            TwoSteps.sent.append(job.id)
            job.record(sent=True, message_ts="1.2")
        if job.attempt == 1:
            raise ConnectionError("lost the network after sending")


async def test_recorded_steps_survive_a_failed_attempt(queue_client: Client) -> None:
    TwoSteps.sent.clear()
    job = await asyncio.to_thread(queue_client.insert, TwoSteps.new({}))
    async with running(queue_client, {"work": 2}) as runner:
        await wait_for(lambda: runner.outcomes["completed"] == 1)
    assert TwoSteps.sent == [job.id]  # sent once across two attempts
    with queue_client.connect() as conn:
        meta, attempt = conn.execute(
            f'SELECT meta, attempt FROM "{queue_client.prefix}".oban_jobs WHERE id = %s', (job.id,)
        ).fetchone()
    assert attempt == 2 and meta["sent"] is True and meta["message_ts"] == "1.2"


async def test_notification_wakes_an_idle_worker(queue_client: Client) -> None:
    """The poll is 60 s away: only the insert's notification explains the fetch."""
    async with running(queue_client, {"work": 1}, poll_interval=60) as runner:
        await runner.signals.listening.wait()
        job = await asyncio.to_thread(queue_client.insert, Recorded.new({}))
        await runner.signals.fetched.wait(lambda fetched: fetched.ids == [job.id], within=10)
        await wait_for(lambda: runner.outcomes["completed"] == 1)


async def test_polling_works_without_notifications(queue_client: Client) -> None:
    quiet = Client(queue_client.database_url, prefix=queue_client.prefix, notify=False)
    runner = Runner(quiet, {"work": 1}, options=RunnerOptions(poll_interval=0.2))
    runner.signals.enable()
    task = asyncio.create_task(runner.run())
    await runner.signals.fetched.wait()  # its first look, before the insert
    job = await asyncio.to_thread(quiet.insert, Recorded.new({}))
    await runner.signals.fetched.wait(lambda fetched: fetched.ids == [job.id])  # a later poll
    await wait_for(lambda: runner.outcomes["completed"] == 1, within=5)
    runner.request_stop()
    await task


class SlowRecorded(Worker):
    queue = "work"

    async def perform(self, job: Job) -> None:
        await asyncio.sleep(0.05)


async def test_worker_survives_terminated_connections_and_loses_nothing(
    queue_client: Client,
) -> None:
    queue_client.insert_all([SlowRecorded.new({"i": i}) for i in range(200)])
    node = f"reconnect-{queue_client.prefix}"
    live = Client(queue_client.database_url, prefix=queue_client.prefix)
    runner = Runner(live, {"work": 5}, node=node, options=RunnerOptions(poll_interval=0.2))
    task = asyncio.create_task(runner.run())
    await runner.started.wait()
    with psycopg.connect(queue_client.database_url, autocommit=True) as admin:
        for round_ in range(3):
            target = 20 + round_ * 40
            await wait_for(lambda t=target: runner.outcomes["completed"] >= t, within=20)
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (f"piiq worker {node}",),
            ).fetchall()
            assert rows, "found no worker connections to terminate"
    # more work after the last kill, woken by notification or poll
    queue_client.insert_all([SlowRecorded.new({"late": i}) for i in range(20)])
    await wait_for(lambda: states(queue_client).get("completed") == 220, within=60)
    runner.request_stop()
    await task
    counts = states(queue_client)
    assert counts["completed"] == 220 and counts["executing"] == 0 and counts["available"] == 0


def _spawn_worker(piiq_command, env, *extra: str) -> WorkerProcess:
    return WorkerProcess(
        [*piiq_command, "worker", "--import", sample_workers.__name__, "--queue", "work=3", *extra],
        env,
    )


def test_sigterm_hands_unfinished_jobs_back_at_once(
    queue_client, subprocess_env, piiq_command
) -> None:
    quick = queue_client.insert_all(
        [Job(worker=sample_workers.Sleepy.name, queue="work", args={"seconds": 0.3})]
    )
    slow = queue_client.insert_all(
        [
            Job(worker=sample_workers.Sleepy.name, queue="work", args={"seconds": 30})
            for _ in range(2)
        ]
    )
    worker = _spawn_worker(piiq_command, subprocess_env, "--shutdown-grace", "1.5")
    try:
        worker.wait_until(lambda w: w.count("job.started") == 3)
        # Stopped well before the 30 s jobs end: the grace (1.5 s) is what it waits.
        assert worker.stop(signal.SIGTERM, within=15) == 0, worker.stderr
    finally:
        worker.kill()
    with queue_client.connect() as conn:
        found = conn.execute(
            f'SELECT id, state::text, attempt FROM "{queue_client.prefix}".oban_jobs'
        )
        rows = {job_id: (state, attempt) for job_id, state, attempt in found}
    assert rows[quick[0].id] == ("completed", 1)  # finished within the grace period
    for job in slow:
        # cut off at the grace: the attempt counts (a refund would let a job that always
        # outlives the grace loop forever), and it is retried at once
        assert rows[job.id] == ("retryable", 1)
        (entry,) = load(queue_client, job.id).errors
        assert entry["error"] == "cut off at shutdown: still running after the 1.5 s grace"
    assert worker.count("worker.stopping") == 1 and worker.count("worker.stopped") == 1


def test_worker_rejects_bad_queue_spec(subprocess_env, piiq_command) -> None:
    result = subprocess.run(
        [*piiq_command, "worker", "--queue", "events"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "queue 'events' must look like NAME=CONCURRENCY" in result.stderr


@pytest.mark.parametrize("spec", ["events=0", "=3"])
def test_queue_limits_are_validated(spec: str) -> None:
    from piiq.queue import ConfigError
    from piiq.queue._runner import parse_queue_limits

    with pytest.raises(ConfigError):
        parse_queue_limits([spec])


def test_sigterm_stops_a_worker_still_waiting_for_its_database(
    piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    """In a container piiq is PID 1, where an unhandled SIGTERM is ignored until the
    kubelet's SIGKILL: a worker waiting for its database stops at once, and cleanly."""
    env = subprocess_env | {"PIIQ_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none"}
    worker = subprocess.Popen(
        [*piiq_command, "worker", "--queue", "default=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    for line in worker.stdout:  # imported and retrying the connection (however slow the host)
        seen.append(line)
        if "error connecting" in line:
            break
    assert worker.poll() is None, "".join(seen)
    worker.send_signal(signal.SIGTERM)
    rest, _ = worker.communicate(timeout=10)
    output = "".join(seen) + rest
    assert worker.returncode == 0, output  # handled; the default action would give -15
    assert '"before_start": true' in output


async def test_suspended_jobs_are_left_alone(queue_client: Client) -> None:
    """Oban v14's suspended jobs wait for something outside the queue: due or not, the
    runner never stages, fetches or prunes them (a due scheduled job beside it runs)."""
    from datetime import UTC, datetime, timedelta

    from piiq.queue import MaintenanceOptions, migrate_up

    with psycopg.connect(queue_client.database_url, autocommit=True) as conn:
        migrate_up(conn, queue_client.prefix, version=14)
    due = datetime.now(UTC) - timedelta(minutes=5)
    held, beside = queue_client.insert_all([Recorded.new({}, scheduled_at=due) for _ in range(2)])
    with queue_client.connect() as conn:
        conn.execute(
            f"UPDATE \"{queue_client.prefix}\".oban_jobs SET state = 'suspended' WHERE id = %s",
            (held.id,),
        )
    pruning = MaintenanceOptions(prune_max_age=0.0, rescue_after=1.0)
    async with running(
        queue_client, {"work": 2}, stage_interval=0.05, maintenance=pruning, rescue_interval=0.05
    ) as runner:
        await wait_for(lambda: runner.outcomes["completed"] == 1)  # staged and run: beside
    assert Recorded.runs[-1] == beside.id
    job = load(queue_client, held.id)  # pruning ran at start, rescue every 0.05 s
    assert (job.state, job.attempt, job.attempted_at) == ("suspended", 0, None)
    with queue_client.connect() as conn:  # what `piiq jobs --state suspended` shows
        assert [j.id for j in recent_jobs(conn, queue_client.prefix, state="suspended")] == [
            held.id
        ]
    assert states(queue_client)["suspended"] == 1  # and `piiq queues`
