"""Real worker processes killed with SIGKILL lose no job; the Pruner works under load."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from piiq.queue import Client, Job, MaintenanceOptions, Worker
from piiq.queue._maintenance import prune_steps
from piiq.queue._steps import run_async
from tests.support import sample_workers
from tests.support.queue_helpers import WorkerProcess, eventually, running, wait_for

from .test_maintenance import sql

FAST_HEARTBEAT = ["--heartbeat-interval", "0.3", "--heartbeat-timeout", "1.5"]


def spawn(piiq_command, env) -> WorkerProcess:
    return WorkerProcess(
        [*piiq_command, "worker", "--import", sample_workers.__name__, "--queue", "work=5",
         *FAST_HEARTBEAT],
        env,
    )  # fmt: skip


def counts(client: Client) -> dict[str, int]:
    return dict(sql(client, "SELECT state::text, count(*) FROM {p}.oban_jobs GROUP BY 1"))


@pytest.mark.slow
def test_kill_9_loses_no_job_and_runs_each_to_completion_once(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    sql(queue_client, "CREATE TABLE {p}.runs (job_id bigint, attempt int, pid int)")
    total = 1000
    queue_client.insert_all(
        [
            Job(
                worker=sample_workers.Sleepy.name,
                queue="work",
                args={"seconds": 0.01, "record_in": "runs"},
            )
            for _ in range(total)
        ]
    )
    workers = [spawn(piiq_command, subprocess_env) for _ in range(2)]
    try:
        for _ in range(5):
            victim = workers.pop(0)
            # killed in the middle of its work: it has run some jobs and holds others
            victim.wait_until(lambda w: w.count("job.started") >= 40, within=60)
            assert victim.stop(signal.SIGKILL, within=10) == -signal.SIGKILL  # no goodbye
            workers.append(spawn(piiq_command, subprocess_env))
        eventually(lambda: counts(queue_client).get("completed", 0) == total, within=120)
    finally:
        codes = [worker.stop(signal.SIGTERM) for worker in workers]
        for worker in workers:
            worker.kill()
    assert counts(queue_client) == {"completed": total}  # none lost, none stuck or discarded
    rows = sql(
        queue_client,
        "SELECT j.id, j.attempt, COALESCE((j.meta->>'rescued')::int, 0), "
        "(SELECT count(*) FROM {p}.runs r WHERE r.job_id = j.id) FROM {p}.oban_jobs j",
    )
    rescued = [r for r in rows if r[2] > 0]
    assert rescued, "the kills should have orphaned some jobs"
    for job_id, attempt, times_rescued, runs in rows:
        # every orphaned attempt was rescued and counted; the last attempt completed it
        assert attempt == times_rescued + 1, job_id
        assert 1 <= runs <= attempt, job_id
    assert codes == [0, 0]


def test_sigterm_leaves_nothing_executing(
    queue_client: Client, subprocess_env, piiq_command
) -> None:
    queue_client.insert_all(
        [
            Job(worker=sample_workers.Sleepy.name, queue="work", args={"seconds": 0.2})
            for _ in range(40)
        ]
    )
    worker = spawn(piiq_command, subprocess_env)
    try:
        worker.wait_until(lambda w: w.count("job.completed") >= 5)
        assert worker.stop(signal.SIGTERM) == 0
    finally:
        worker.kill()
    found = counts(queue_client)
    assert found.get("executing", 0) == 0
    assert found.get("completed", 0) + found.get("available", 0) == 40
    stopped = sql(
        queue_client, "SELECT count(*) FROM {p}.piiq_producers WHERE stopped_at IS NOT NULL"
    )
    assert stopped[0][0] == 1


class Busy(Worker):
    queue = "busy"

    async def perform(self, job: Job) -> None:
        await asyncio.sleep(0.001)


@pytest.mark.slow
async def test_pruner_on_200k_finished_jobs_while_a_worker_keeps_going(
    queue_client: Client,
) -> None:
    sql(
        queue_client,
        "INSERT INTO {p}.oban_jobs (worker, args, state, completed_at) "
        "SELECT 'app.W', jsonb_build_object('i', g), 'completed', "
        "timezone('UTC', now()) - interval '8 days' FROM generate_series(1, 200000) g",
    )
    untouched = sql(
        queue_client,
        "INSERT INTO {p}.oban_jobs (worker, args, state, scheduled_at, inserted_at) "
        "SELECT 'app.W', '{}', s::{p}.oban_job_state, now() + interval '1 day', "
        "now() - interval '90 days' FROM unnest('{scheduled,retryable}'::text[]) s, "
        "generate_series(1, 50) RETURNING id",
    )
    queue_client.insert_all([Busy.new({"i": i}) for i in range(3000)])
    options = MaintenanceOptions(prune_limit=10_000)
    async with running(queue_client, {"busy": 10}) as runner:
        started = time.monotonic()
        conn = await queue_client.aconnect(autocommit=True)
        async with conn:
            summary = await run_async(conn, prune_steps(queue_client.prefix, options))
        elapsed = time.monotonic() - started
        done_while_pruning = runner.outcomes["completed"]
        await wait_for(lambda: runner.outcomes["completed"] == 3000, within=60)
    assert summary.pruned["completed"] == 200_000
    assert done_while_pruning > 0, f"the worker made no progress during {elapsed:.1f} s of pruning"
    ids = [r[0] for r in untouched]
    left = sql(queue_client, "SELECT count(*) FROM {p}.oban_jobs WHERE id = ANY(%s)", (ids,))
    assert left[0][0] == 100
    assert counts(queue_client) == {"completed": 3000, "scheduled": 50, "retryable": 50}
