"""Job outcomes with Oban's semantics, run by a real runner against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import timedelta

import pytest

from piiq.queue import (
    Cancel,
    Client,
    Discard,
    Job,
    Snooze,
    Worker,
    default_backoff,
)
from tests.support import sample_workers
from tests.support.queue_helpers import load, run_one, running, wait_for


class Succeeds(Worker):
    queue = "r"

    def perform(self, job: Job) -> None:
        return None


class Fails(Worker):
    queue = "r"
    max_attempts = 3
    sensitive_args = ("text",)

    def perform(self, job: Job) -> None:
        # A library quoting its input in another form than the value (security review,
        # finding 14): removing the exact value from the message cannot catch this.
        raise RuntimeError(f"could not handle {job.args['text'].upper()!r}")


class FailsPlainly(Worker):
    queue = "r"

    def perform(self, job: Job) -> None:
        raise RuntimeError(f"could not handle item {job.args['item']}")


class Snoozes(Worker):
    queue = "r"

    def perform(self, job: Job) -> Snooze:
        return Snooze(30)


class Cancels(Worker):
    queue = "r"

    async def perform(self, job: Job) -> Cancel:
        return Cancel("message already deleted")


class Discards(Worker):
    queue = "r"

    def perform(self, job: Job) -> Discard:
        return Discard("token_revoked: reinstall the app")


class TooSlow(Worker):
    queue = "r"
    timeout = 0.2

    async def perform(self, job: Job) -> None:
        await asyncio.sleep(5)


async def test_success_completes(queue_client: Client) -> None:
    job = await run_one(queue_client, Succeeds.new({}))
    assert job.state == "completed" and job.attempt == 1 and job.completed_at is not None
    assert job.attempted_by is not None and len(job.attempted_by) == 2


async def test_exception_retries_with_backoff_and_records_the_error(queue_client: Client) -> None:
    job = await run_one(queue_client, Fails.new({"text": "my card 4111 1111 1111 1111"}))
    assert job.state == "retryable" and job.attempt == 1
    delay = (job.scheduled_at - job.attempted_at).total_seconds()
    assert 17 <= delay <= 17 * 1.1 + 1  # 15 + 2^1, plus up to 10 % jitter
    (entry,) = job.errors
    assert entry["attempt"] == 1 and entry["at"].endswith("Z")
    # A worker with sensitive args: where it failed and the type, never the message.
    assert "RuntimeError (message withheld" in entry["error"], entry["error"]
    assert "in perform" in entry["error"]
    assert "4111" not in entry["error"] and "MY CARD" not in entry["error"]


async def test_errors_keep_the_message_of_workers_without_sensitive_args(
    queue_client: Client,
) -> None:
    job = await run_one(queue_client, FailsPlainly.new({"item": 42}))
    (entry,) = job.errors
    assert "Traceback" in entry["error"]
    assert "RuntimeError: could not handle item 42" in entry["error"]


def returns_a_coroutine(perform):  # a decorator that hides the async def from piiq
    def wrapper(self, job):
        return perform(self, job)

    return wrapper


class AwaitsNothing(Worker):
    queue = "r"
    max_attempts = 1
    ran = threading.Event()

    @returns_a_coroutine
    async def perform(self, job: Job) -> None:
        AwaitsNothing.ran.set()


async def test_a_plain_def_returning_a_coroutine_fails_naming_async_def(
    queue_client: Client,
) -> None:
    job = await run_one(queue_client, AwaitsNothing.new({}))
    assert job.state == "discarded" and not AwaitsNothing.ran.is_set()  # not "completed"
    assert "returned an awaitable (coroutine) without being an async def" in job.errors[0]["error"]


async def test_exhausted_attempts_discard(queue_client: Client) -> None:
    stored = queue_client.insert(Fails.new({"text": "x"}, max_attempts=1))
    async with running(queue_client, {"r": 1}):
        await wait_for(lambda: load(queue_client, stored.id).state == "discarded")
    job = load(queue_client, stored.id)
    assert job.discarded_at is not None and len(job.errors) == 1


async def test_snooze_reschedules_without_using_an_attempt(queue_client: Client) -> None:
    job = await run_one(queue_client, Snoozes.new({}))
    assert job.state == "scheduled" and job.attempt == 0 and job.meta["snoozed"] == 1
    assert timedelta(seconds=28) < job.scheduled_at - job.attempted_at < timedelta(seconds=32)
    assert job.errors == []


async def test_cancel_cancels(queue_client: Client) -> None:
    job = await run_one(queue_client, Cancels.new({}))
    assert job.state == "cancelled" and job.cancelled_at is not None
    assert job.errors[0]["error"] == "cancelled: message already deleted"


async def test_discard_discards_without_retrying(queue_client: Client) -> None:
    job = await run_one(queue_client, Discards.new({}, max_attempts=5))
    assert job.state == "discarded" and job.attempt == 1 and job.discarded_at is not None
    assert job.errors[0]["error"] == "discarded: token_revoked: reinstall the app"


async def test_timeout_is_a_failure(queue_client: Client) -> None:
    job = await run_one(queue_client, TooSlow.new({}))
    assert job.state == "retryable"
    assert job.errors[0]["error"] == "timed out after 0.2 s"


async def test_unknown_worker_is_kept_and_snoozed_naming_why(
    queue_client: Client, log_lines
) -> None:
    """A deploy in the wrong order loses nothing: the job is snoozed with backoff, its
    attempt given back, the reason in its errors and in a warning log line."""
    mark = len(log_lines.lines)
    job = await run_one(queue_client, Job(worker="myapp.workers.Gone", queue="r"))
    assert job.state == "scheduled" and job.attempt == 0
    assert job.meta["unknown_worker"] == 1
    error = job.errors[0]["error"]
    assert "unknown worker 'myapp.workers.Gone'" in error
    assert "importing 'myapp.workers' failed: ModuleNotFoundError" in error
    assert "kept, trying again in 30 s" in error
    (line,) = [e for e in log_lines.since(mark) if e["event"] == "job.unknown_worker"]
    assert line["level"] == "warning" and "ModuleNotFoundError" in line["reason"]
    # Leased again, on its last attempt, and still unknown: kept again, waiting longer.
    again = await rerun(queue_client, job.id, max_attempts=1)
    assert again.state == "scheduled" and again.meta["unknown_worker"] == 2
    assert "trying again in 60 s" in again.errors[-1]["error"]


async def test_a_worker_once_deployed_runs_the_kept_job(queue_client: Client) -> None:
    job = await run_one(queue_client, Job(worker=f"{sample_workers.__name__}.NotYet", queue="r"))
    assert job.state == "scheduled"
    done = await rerun(queue_client, job.id, worker=sample_workers.Sleepy.name)  # the fixed deploy
    assert done.state == "completed" and done.attempt == 1


async def rerun(client: Client, job_id: int, **columns: object) -> Job:
    """Make a job available now (with ``columns`` changed) and run it once more."""
    sets = ", ".join(f"{name} = %s" for name in columns)
    with client.connect() as conn:
        conn.execute(
            f"UPDATE {client.prefix}.oban_jobs SET state = 'available', "
            f"scheduled_at = timezone('UTC', now()){', ' + sets if sets else ''} WHERE id = %s",
            [*columns.values(), job_id],
        )
    async with running(client, {"r": 1}):
        await wait_for(lambda: load(client, job_id).state not in ("available", "executing"))
    return load(client, job_id)


def test_default_backoff_matches_oban() -> None:
    rand = random.Random(7)
    for attempt in range(1, 21):
        base = 15 + 2**attempt
        for _ in range(20):
            assert base <= default_backoff(attempt, 20, rand=rand) <= base * 1.1
    # long retry budgets are rescaled onto 20 steps
    assert default_backoff(50, 100, rand=random.Random(1)) < 15 + 2**10 * 1.1 + 1


class Flaky(Worker):
    queue = "r"

    def backoff(self, job: Job) -> float:
        return 0.3

    def perform(self, job: Job) -> None:
        if job.attempt < 3:
            raise ConnectionError("try again")


async def test_retryable_jobs_are_staged_and_run_again(queue_client: Client) -> None:
    stored = queue_client.insert(Flaky.new({}))
    async with running(queue_client, {"r": 1}, stage_interval=0.1):
        await wait_for(lambda: load(queue_client, stored.id).state == "completed")
    job = load(queue_client, stored.id)
    assert job.attempt == 3 and len(job.errors) == 2


async def test_scheduled_job_runs_when_due_not_before(queue_client: Client) -> None:
    stored = queue_client.insert(Succeeds.new({}, schedule_in=3.0))
    async with running(queue_client, {"r": 1}, stage_interval=0.1) as runner:
        assert await runner.signals.staged.wait() == {}  # a pass before it is due: left
        assert load(queue_client, stored.id).state == "scheduled"
        await runner.signals.staged.wait(lambda staged: staged == {"r": 1})
        await wait_for(lambda: load(queue_client, stored.id).state == "completed", within=5)
    job = load(queue_client, stored.id)
    assert job.attempted_at >= job.scheduled_at


class Blocking(Worker):
    """Blocks its thread until the test lets it go; says so when it starts."""

    queue = "r"
    started = threading.Semaphore(0)
    release = threading.Event()

    def perform(self, job: Job) -> None:
        Blocking.started.release()
        assert Blocking.release.wait(10), "never released"


async def test_sync_perform_never_blocks_the_event_loop(queue_client: Client) -> None:
    """Three performs block their threads; the loop goes on meanwhile (heartbeats beat),
    which it could not if any of them ran on it."""
    Blocking.release.clear()
    queue_client.insert_all([Blocking.new({}) for _ in range(3)])
    async with running(queue_client, {"r": 3}, heartbeat_interval=0.05) as runner:
        for _ in range(3):
            assert await asyncio.to_thread(Blocking.started.acquire, True, 10)
        runner.signals.heartbeat.clear()
        await runner.signals.heartbeat.wait()
        await runner.signals.heartbeat.wait()
        assert runner.outcomes["completed"] == 0  # all three still blocked
        Blocking.release.set()
        await wait_for(lambda: runner.outcomes["completed"] == 3)


@pytest.mark.parametrize("limit", [1, 3])
async def test_concurrency_limit_is_never_exceeded(queue_client: Client, limit: int) -> None:
    state = {"now": 0, "peak": 0}

    class Counted(Worker):
        queue = "limited"

        async def perform(self, job: Job) -> None:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0.02)
            state["now"] -= 1

    queue_client.insert_all([Counted.new({"i": i}) for i in range(30)])
    async with running(queue_client, {"limited": limit}) as runner:
        await wait_for(lambda: runner.outcomes["completed"] == 30)
    assert state["peak"] == limit
