"""Run a real Runner inside a test and wait for what it does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from piiq.queue import Client, Job, Runner, RunnerOptions
from piiq.queue.inspect import get_job
from piiq.queue.job import utcnow


@asynccontextmanager
async def running(
    client: Client, queues: dict[str, int], clock: Callable[[], datetime] = utcnow, **options
) -> AsyncIterator[Runner]:
    live = Client(client.database_url, prefix=client.prefix)
    runner = Runner(live, queues, options=RunnerOptions(**options), clock=clock)
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.started.wait(), 10)
    try:
        yield runner
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 30)


async def wait_for(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def load(client: Client, job_id: int) -> Job:
    with client.connect() as conn:
        job = get_job(conn, job_id, client.prefix)
    assert job is not None
    return job


async def run_one(client: Client, job: Job, **options) -> Job:
    stored = client.insert(job)
    async with running(client, {stored.queue: 2}, **options):
        await wait_for(
            lambda: (
                load(client, stored.id).state != "available"
                and load(client, stored.id).state != "executing"
            )
        )
    return load(client, stored.id)
