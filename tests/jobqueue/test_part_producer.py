"""One producer (_producer.py) with its real collaborators (statements gateway, acker,
execution) and no runner: it fills its free slots, wakes on news, pauses, and checks
its leases, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from piiq.queue import Client, Job, QueueControl, RunnerOptions, Worker
from piiq.queue._acker import Acker
from piiq.queue._execution import Execution
from piiq.queue._options import QueueLimits
from piiq.queue._producer import Producer
from piiq.queue._queries import Queries
from piiq.queue._signals import Signals
from piiq.queue._threads import JobThreads

from .test_maintenance import load, sql


class Gate(Worker):
    """Runs until the test opens the gate; counts the jobs running at once."""

    queue = "prod"
    now = 0
    most = 0
    gate: asyncio.Event
    changed: asyncio.Event  # set whenever `now` grows

    async def perform(self, job: Job) -> None:
        Gate.now += 1
        Gate.most = max(Gate.most, Gate.now)
        Gate.changed.set()
        try:
            await Gate.gate.wait()
        finally:
            Gate.now -= 1


@asynccontextmanager
async def producing(
    queries: Queries, client: Client, signals: Signals, limit: int, **options: float
) -> AsyncIterator[Producer]:
    Gate.now = Gate.most = 0
    Gate.gate = asyncio.Event()
    Gate.changed = asyncio.Event()
    opts = RunnerOptions(**{"poll_interval": 60.0, **options})  # type: ignore[arg-type]
    threads = JobThreads(asyncio.get_running_loop(), limit)
    acker = Acker(
        queries.ack, batch=100, interval=0.002, on_written=lambda: None,
        health=queries.health, signals=signals,
    )  # fmt: skip
    execution = Execution(client, threads, acker.add, opts.shutdown_grace)
    producer = Producer(
        "prod", QueueLimits(limit), opts, queries=queries, acker=acker,
        execution=execution, health=queries.health, signals=signals,
    )  # fmt: skip
    producer.start()
    try:
        yield producer
    finally:
        Gate.gate.set()
        await producer.stop_fetching()
        await asyncio.gather(*producer.running.values(), return_exceptions=True)
        await acker.stop()
        assert await acker.flush()
        threads.shutdown()


async def until(signal_wait: Callable[[], object], predicate: Callable[[], bool]) -> None:
    while not predicate():
        await signal_wait()  # type: ignore[misc]


async def test_it_fills_its_free_slots_and_no_more(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    queue_client.insert_all([Gate.new({"i": i}) for i in range(7)])
    async with producing(queries, queue_client, signals, limit=3) as producer:
        first = await signals.fetched.wait()
        assert (len(first.ids), first.wanted) == (3, 3)  # the whole limit in one fetch
        while Gate.now < 3:
            Gate.changed.clear()
            await Gate.changed.wait()
        Gate.gate.set()  # everything may finish now: slots free, fetches follow
        done = set(first.ids)
        while len(done) < 7:
            fetched = await signals.fetched.wait()
            assert fetched.wanted <= 3
            done.update(fetched.ids)
        await until(signals.acked.wait, lambda: not producer.running)
    assert Gate.most == 3
    counts = dict(sql(queue_client, "SELECT state::text, count(*) FROM {p}.oban_jobs GROUP BY 1"))
    assert counts == {"completed": 7}


async def test_it_wakes_on_news_not_on_the_poll(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    async with producing(queries, queue_client, signals, limit=2) as producer:
        await signals.fetched.wait()  # the first look finds nothing; the next poll is in 60 s
        (job,) = queue_client.insert_all([Gate.new({})])
        producer.notify()  # what the notifier does for an insert
        fetched = await signals.fetched.wait(within=5)
        assert fetched.ids == [job.id]


async def test_a_paused_producer_fetches_nothing_until_resumed(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    async with producing(queries, queue_client, signals, limit=2) as producer:
        await signals.fetched.wait()
        assert producer.apply_control(QueueControl(paused=True))
        queue_client.insert_all([Gate.new({}) for _ in range(3)])
        signals.fetched.clear()
        producer.notify()
        assert await signals.skipped.wait(lambda s: s[1] == "paused") == ("prod", "paused")
        assert producer.running == {} and producer._fetching == 0
        assert producer.apply_control(QueueControl(paused=False, local_limit=3))
        fetched = await signals.fetched.wait()  # the first fetch since the pause
        assert (len(fetched.ids), producer.limit) == (3, 3)  # resumed, and scaled to 3
        assert not producer.apply_control(QueueControl(paused=False, local_limit=3))


async def test_its_lease_check_rescues_a_job_it_does_not_hold(
    queries: Queries, queue_client: Client, signals: Signals
) -> None:
    """A job executing under this process's name that it does not hold: an ack lost in
    a database crash. The periodic check rescues it; held jobs stay."""
    queue_client.insert_all([Gate.new({})])
    async with producing(queries, queue_client, signals, limit=2) as producer:
        held = (await signals.fetched.wait()).ids
        lost = queue_client.insert(Gate.new({}))
        sql(queue_client, "UPDATE {p}.oban_jobs SET state = 'executing', attempt = 1, "
            "attempted_by = %s WHERE id = %s", (queries.attempted_by, lost.id))  # fmt: skip
        producer.check_leases()
        assert await signals.reconciled.wait() == "prod"
        rescued = load(queue_client, lost.id or 0)
        assert rescued.meta["rescued"] == 1 and rescued.state in ("available", "executing")
        assert load(queue_client, held[0]).state == "executing"
