"""Periodic jobs against a real PostgreSQL: several runners with one crontab insert exactly
one job per entry and tick. The runners read an injected clock that the test moves on a
minute at a time, so no test waits for a real minute."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta

import pytest
from psycopg import sql

from piiq.queue import (
    Client,
    ConfigError,
    Job,
    Runner,
    RunnerOptions,
    Worker,
    attach_telemetry,
    detach_telemetry,
)
from tests.support.queue_helpers import wait_for

START = datetime(2026, 3, 2, 8, 59, 30)  # a Monday; the first tick is 08:59


class Report(Worker):
    queue = "cron"

    def perform(self, job: Job) -> None:
        return None


class Slow(Worker):
    """Never fetched here (its queue is not run): the tick's job stays available."""

    queue = "cron_idle"

    def perform(self, job: Job) -> None:
        return None


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


CRONTAB = (
    f"* * * * * {Report.name}",
    f'*/2 * * * * {Report.name} {{"args": {{"kind": "even"}}, "priority": 3}}',
    f"0 9 * * MON-FRI {Slow.name}",
)


@asynccontextmanager
async def runners(
    client: Client, clock: Clock, count: int, crontab: tuple[str, ...] = CRONTAB
) -> AsyncIterator[list[Runner]]:
    async with AsyncExitStack() as stack:
        started: list[Runner] = []
        for i in range(count):
            live = Client(client.database_url, prefix=client.prefix)
            options = RunnerOptions(poll_interval=0.1, crontab=crontab, cron_interval=0.01)
            runner = Runner(live, {"cron": 2}, node=f"pod-{i}", options=options, clock=clock)
            task = asyncio.create_task(runner.run())

            async def stop(runner: Runner = runner, task: asyncio.Task[None] = task) -> None:
                runner.request_stop()
                await asyncio.wait_for(task, 30)

            stack.push_async_callback(stop)
            await asyncio.wait_for(runner.started.wait(), 10)
            started.append(runner)
        yield started


def cron_jobs(client: Client) -> Counter[tuple[str, str, str]]:
    """(worker, kind, tick) -> number of rows, over every state."""
    query = sql.SQL(
        "SELECT worker, coalesce(args->>'kind', ''), meta->>'cron_tick' FROM {}.oban_jobs "
        "WHERE meta->>'cron' = 'true'"
    ).format(sql.Identifier(client.prefix))
    with client.connect() as conn:
        return Counter(tuple(row) for row in conn.execute(query).fetchall())


def expected(ticks: list[datetime]) -> Counter[tuple[str, str, str]]:
    rows: Counter[tuple[str, str, str]] = Counter()
    for tick in ticks:
        rows[(Report.name, "", tick.isoformat())] = 1
        if tick.minute % 2 == 0:
            rows[(Report.name, "even", tick.isoformat())] = 1
        if (tick.hour, tick.minute) == (9, 0):
            rows[(Slow.name, "", tick.isoformat())] = 1
    return rows


async def test_three_runners_insert_one_job_per_entry_and_tick(queue_client: Client) -> None:
    clock = Clock(START)
    ticks = [datetime(2026, 3, 2, 8, 59) + timedelta(minutes=i) for i in range(6)]
    inserted: list[dict] = []

    def handler(event: str, data: dict) -> None:
        if event == "cron.inserted":
            inserted.append(data)

    attach_telemetry(handler)
    try:
        async with runners(queue_client, clock, 3) as pods:
            for n, tick in enumerate(ticks):
                if n:
                    clock.now = tick + timedelta(seconds=0.2 * n)  # some lateness, same tick
                await wait_for(lambda t=tick: all(p.cron_tick == t for p in pods))
                assert cron_jobs(queue_client) == expected(ticks[: n + 1])
            # Every tick's first job ran to completion: a completed job still holds its tick.
            await wait_for(lambda: sum(p.outcomes["completed"] for p in pods) >= 9)
            assert cron_jobs(queue_client) == expected(ticks)
            assert sum(p.cron_inserted for p in pods) == sum(expected(ticks).values()) == 10
    finally:
        detach_telemetry(handler)
    assert len(inserted) == 10
    assert Counter(d["queue"] for d in inserted) == {"cron": 9, "cron_idle": 1}


async def test_concurrent_evaluations_of_many_ticks_never_duplicate(
    queue_client: Client,
) -> None:
    """The race itself: three runners evaluate each tick at the same moment, 30 ticks."""
    clock = Clock(START)
    ticks = [datetime(2026, 3, 2, 8, 59) + timedelta(minutes=i) for i in range(30)]
    async with runners(queue_client, clock, 3) as pods:
        await wait_for(lambda: all(p.cron_tick == ticks[0] for p in pods))
        for tick in ticks:
            results = await asyncio.gather(*(p.evaluate_crontab(tick) for p in pods))
            for jobs in zip(*results, strict=True):
                assert sum(not job.conflict for job in jobs) <= 1  # only the first insert
                assert len({job.id for job in jobs}) == 1  # every runner sees the same job
    assert cron_jobs(queue_client) == expected(ticks)


async def test_a_runner_started_later_in_the_minute_adds_nothing(queue_client: Client) -> None:
    clock = Clock(START)
    async with runners(queue_client, clock, 1) as (first,):
        await wait_for(lambda: first.cron_tick == datetime(2026, 3, 2, 8, 59))
        await wait_for(lambda: first.outcomes["completed"] >= 1)  # its job already finished
    clock.now = START + timedelta(seconds=25)  # a restarted pod, same minute
    async with runners(queue_client, clock, 1) as (restarted,):
        await wait_for(lambda: restarted.cron_tick == datetime(2026, 3, 2, 8, 59))
        assert restarted.cron_inserted == 0
    assert cron_jobs(queue_client) == expected([datetime(2026, 3, 2, 8, 59)])


async def test_a_runner_whose_clock_goes_back_adds_nothing(queue_client: Client) -> None:
    clock = Clock(START)
    async with runners(queue_client, clock, 2) as pods:
        for now in (START + timedelta(minutes=1), START, START + timedelta(minutes=1)):
            clock.now = now
            await wait_for(lambda n=now: all(p.cron_tick == n.replace(second=0) for p in pods))
    assert cron_jobs(queue_client) == expected(
        [datetime(2026, 3, 2, 8, 59), datetime(2026, 3, 2, 9, 0)]
    )


def test_a_bad_crontab_stops_the_runner_before_it_starts(queue_client: Client) -> None:
    live = Client(queue_client.database_url, prefix=queue_client.prefix)
    for crontab, message in [
        (("61 * * * * x.Y",), "minute value 61 is out of range 0-59"),
        (("* * * * * no.such.Worker",), "unknown worker 'no.such.Worker'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Runner(live, {"cron": 1}, options=RunnerOptions(crontab=crontab))
