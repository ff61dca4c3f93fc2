"""A queue's global limit: at most G jobs executing at once over every worker process."""

from __future__ import annotations

import asyncio
import subprocess
from contextlib import AsyncExitStack

import psycopg
import pytest

from piiq.queue import Client, ConfigError, Job, Worker
from piiq.queue._runner import QueueLimits, parse_queues
from tests.support.queue_helpers import running, wait_for


class Sleeper(Worker):
    """Counts the jobs running at once in this process (every runner of a test is here)."""

    queue = "limited"
    now = 0
    most = 0
    seconds = 0.05

    async def perform(self, job: Job) -> None:
        Sleeper.now += 1
        Sleeper.most = max(Sleeper.most, Sleeper.now)
        try:
            await asyncio.sleep(Sleeper.seconds)
        finally:
            Sleeper.now -= 1


@pytest.fixture
def sleepers(queue_client: Client):
    Sleeper.now = Sleeper.most = 0
    Sleeper.seconds = 0.05
    return lambda n: queue_client.insert_all([Sleeper.new({"i": i}) for i in range(n)])


class ExecutingSampler:
    """Counts the queue's executing rows over and over on a connection of its own."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.most = 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        query = (
            f'SELECT count(*) FROM "{self.client.prefix}".oban_jobs '
            "WHERE state = 'executing' AND queue = 'limited'"
        )
        async with await psycopg.AsyncConnection.connect(
            self.client.database_url, autocommit=True
        ) as conn:
            while True:
                (count,) = await (await conn.execute(query)).fetchone()
                self.most = max(self.most, count)
                self.samples += 1

    async def __aenter__(self) -> ExecutingSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def completed(runners) -> int:
    return sum(r.outcomes["completed"] for r in runners)


async def run_all(queue_client: Client, specs: list[str], jobs: int) -> ExecutingSampler:
    async with AsyncExitStack() as stack:
        sampler = await stack.enter_async_context(ExecutingSampler(queue_client))
        runners = [
            await stack.enter_async_context(running(queue_client, [spec], poll_interval=0.2))
            for spec in specs
        ]
        await wait_for(lambda: completed(runners) == jobs, within=60)
        # Places go to whoever fetches first, but no single runner can hold them all.
        assert sum(1 for r in runners if r.outcomes["completed"]) >= 3
    return sampler


async def test_four_runners_never_exceed_the_global_limit(queue_client: Client, sleepers) -> None:
    """Four processes of 4 could run 16; the global limit holds them to 10 together."""
    sleepers(200)
    sampler = await run_all(queue_client, ["limited=4/10"] * 4, 200)
    assert Sleeper.most == 10  # reached, never passed (in-process count: exact)
    assert sampler.samples > 20 and sampler.most <= 10  # executing rows, from the database


async def test_without_a_global_limit_the_per_process_limits_add_up(
    queue_client: Client, sleepers
) -> None:
    """What the global limit prevents: the same runners with per-process limits only."""
    sleepers(200)
    await run_all(queue_client, ["limited=4"] * 4, 200)
    assert Sleeper.most > 10


async def test_the_limit_holds_while_two_generations_run_together(
    queue_client: Client, sleepers
) -> None:
    """A rollout: new runners (4 each) start while the old ones (5 each) run, then the old
    ones stop, finishing their jobs, while the new ones work. Together they could run 22."""
    Sleeper.seconds = 0.1
    sleepers(300)
    async with ExecutingSampler(queue_client) as sampler, AsyncExitStack() as new_generation:
        async with AsyncExitStack() as old_generation:
            old = [
                await old_generation.enter_async_context(
                    running(queue_client, ["limited=5/12"], poll_interval=0.2)
                )
                for _ in range(2)
            ]
            await wait_for(lambda: completed(old) >= 40)
            new = [
                await new_generation.enter_async_context(
                    running(queue_client, ["limited=4/12"], poll_interval=0.2)
                )
                for _ in range(3)
            ]
            await wait_for(lambda: completed(new) >= 10)  # both generations at work
        await wait_for(lambda: completed(old) + completed(new) == 300, within=60)
    assert Sleeper.most == 12
    assert sampler.most <= 12


async def test_a_capped_runner_refetches_when_its_jobs_finish(
    queue_client: Client, sleepers
) -> None:
    """Cut short by the global limit, a runner takes the next job as soon as one of its own
    finishes, not at the next poll (60 s here)."""
    Sleeper.seconds = 0.01
    sleepers(40)
    async with running(queue_client, ["limited=10/2"], poll_interval=60) as runner:
        # 40 jobs two at a time: waiting for polls would take 20 minutes
        await wait_for(lambda: runner.outcomes["completed"] == 40, within=30)
    assert Sleeper.most == 2


def test_queue_specs_with_a_global_limit() -> None:
    assert parse_queues(["events=8/20", "pii_detection=5"]) == {
        "events": QueueLimits(8, 20),
        "pii_detection": QueueLimits(5, None),
    }
    assert parse_queues({"events": (8, 20), "files": 2}) == {
        "events": QueueLimits(8, 20),
        "files": QueueLimits(2, None),
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("events=8/", "must look like NAME=CONCURRENCY or NAME=CONCURRENCY/GLOBAL"),
        ("events=/20", "must look like NAME=CONCURRENCY or NAME=CONCURRENCY/GLOBAL"),
        ("events=8/20/30", "must look like NAME=CONCURRENCY or NAME=CONCURRENCY/GLOBAL"),
        ("events=8/0", "queue 'events': global limit 0 must be 1 or more"),
    ],
)
def test_bad_global_limits_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_queues([spec])


def test_worker_names_a_bad_global_limit_in_one_line(subprocess_env, piiq_command) -> None:
    result = subprocess.run(
        [*piiq_command, "worker", "--queue", "events=8/x"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: queue 'events=8/x' must look like NAME=CONCURRENCY or "
        "NAME=CONCURRENCY/GLOBAL, e.g. events=20 or events=8/20"
    ]
