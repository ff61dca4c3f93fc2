"""Pause, resume and scale queues on running workers; kept for workers that start later."""

from __future__ import annotations

import asyncio
import subprocess

import psycopg
import pytest

from piiq.queue import (
    Client,
    Job,
    QueueControl,
    Worker,
    attach_telemetry,
    detach_telemetry,
    pause_queue,
    queue_controls,
    resume_queue,
    scale_queue,
)
from piiq.queue.inspection import queue_counts
from tests.support.queue_helpers import running, wait_for


class Held(Worker):
    """Runs until released; counts the jobs running at once."""

    queue = "control"
    now = 0
    most = 0
    release: asyncio.Event

    async def perform(self, job: Job) -> None:
        Held.now += 1
        Held.most = max(Held.most, Held.now)
        try:
            await Held.release.wait()
        finally:
            Held.now -= 1


def reset_held() -> None:
    Held.now = Held.most = 0
    Held.release = asyncio.Event()


def control(client: Client, change, *args) -> int:
    with psycopg.connect(client.database_url, autocommit=True) as conn:
        return change(conn, "control", *args, prefix=client.prefix)


def available(client: Client) -> int:
    with client.connect() as conn:
        return queue_counts(conn, client.prefix).get("control", {}).get("available", 0)


async def test_pause_stops_a_running_worker_at_once_and_survives_a_restart(
    queue_client: Client,
) -> None:
    reset_held()
    Held.release.set()
    # Without the notification, the worker would read piiq_queues only after 60 s.
    async with running(
        queue_client, {"control": 5}, poll_interval=0.1, control_interval=60
    ) as runner:
        await runner.signals.listening.wait()
        producer = runner.producers["control"]
        assert await asyncio.to_thread(control, queue_client, pause_queue) == 1  # one worker
        await runner.signals.controls_read.wait(lambda _: producer.paused, within=10)
        await asyncio.to_thread(queue_client.insert_all, [Held.new({}) for _ in range(3)])
        await paused_through_polls(runner, "control")  # and the insert's notification
        assert runner.outcomes["completed"] == 0 and available(queue_client) == 3
    async with running(queue_client, {"control": 5}, poll_interval=0.1) as restarted:
        assert restarted.producers["control"].paused  # before its first fetch
        await paused_through_polls(restarted, "control")
        assert available(queue_client) == 3
        await asyncio.to_thread(control, queue_client, resume_queue)
        await wait_for(lambda: restarted.outcomes["completed"] == 3, within=5)


async def paused_through_polls(runner, queue: str, polls: int = 3) -> None:
    """Wait for ``polls`` wake-ups of the queue's producer that fetched nothing because
    the queue is paused; no fetch may come back with jobs meanwhile."""
    runner.signals.fetched.clear()
    for _ in range(polls):
        await runner.signals.skipped.wait(lambda skipped: skipped == (queue, "paused"))
    with pytest.raises(TimeoutError):
        await runner.signals.fetched.wait(lambda fetched: bool(fetched.ids), within=0)


async def test_without_notifications_the_worker_reads_the_table(queue_client: Client) -> None:
    quiet = Client(queue_client.database_url, prefix=queue_client.prefix, notify=False)
    async with running(quiet, {"control": 5}, control_interval=0.2) as runner:
        await asyncio.to_thread(control, queue_client, pause_queue)
        await wait_for(lambda: runner.producers["control"].paused, within=2)
        await asyncio.to_thread(control, queue_client, resume_queue)
        await wait_for(lambda: not runner.producers["control"].paused, within=2)


async def test_scale_changes_the_limit_of_running_and_starting_workers(
    queue_client: Client,
) -> None:
    reset_held()
    events: list[dict] = []

    def handler(event: str, data: dict) -> None:
        if event == "queue.control":
            events.append(data)

    attach_telemetry(handler)
    try:
        await asyncio.to_thread(queue_client.insert_all, [Held.new({}) for _ in range(10)])
        async with running(queue_client, {"control": 1}, poll_interval=0.1) as runner:
            await wait_for(lambda: Held.now == 1)
            await asyncio.to_thread(control, queue_client, scale_queue, 4)
            await wait_for(lambda: Held.now == 4, within=2)
            for _ in range(3):  # polls find every slot taken: still four
                await runner.signals.skipped.wait(lambda s: s == ("control", "full"))
            assert Held.most == 4
            Held.release.set()
            await wait_for(lambda: runner.outcomes["completed"] == 10)
        assert {"queue": "control", "paused": False, "limit": 4, "global_limit": None} in events
        async with running(queue_client, {"control": 1}) as restarted:
            assert restarted.producers["control"].limit == 4
            await asyncio.to_thread(control, queue_client, scale_queue, None)
            await wait_for(lambda: restarted.producers["control"].limit == 1, within=2)
    finally:
        detach_telemetry(handler)
    with psycopg.connect(queue_client.database_url) as conn:
        assert queue_controls(conn, queue_client.prefix) == {"control": QueueControl(False, None)}


def test_queues_command_pauses_scales_and_shows_it(subprocess_env, piiq_command) -> None:
    def piiq(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*piiq_command, "queues", *args],
            env=subprocess_env | {"COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=30,
        )

    paused = piiq("pause", "events")
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith("events: paused (no running worker serves it now")
    assert piiq("scale", "events", "6").returncode == 0
    shown = piiq()
    assert shown.returncode == 0, shown.stderr
    (row,) = [line for line in shown.stdout.splitlines() if "events" in line]
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells == ["events", "0", "0", "0", "0", "0", "0", "0", "yes", "6"]
    bad = piiq("scale", "events", "0")
    assert bad.returncode == 2
    assert "'0' must be a whole number of 1 or more, or 'default'" in bad.stderr


class Quick(Worker):
    queue = "control"

    def perform(self, job: Job) -> None:
        return None


async def test_a_schema_without_piiq_queues_runs_and_says_to_migrate(
    queue_client: Client, log_lines
) -> None:
    """A database migrated by an earlier piiq: jobs run; the log names the fix, once."""
    with psycopg.connect(queue_client.database_url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{queue_client.prefix}".piiq_queues')
    mark = len(log_lines.lines)
    queue_client.insert(Quick.new({}))
    async with running(queue_client, {"control": 1}, control_interval=0.05) as runner:
        await wait_for(lambda: runner.outcomes["completed"] == 1)
        for _ in range(3):  # a few more reads of the missing table
            assert await runner.signals.controls_read.wait() is False
    warnings = [e for e in log_lines.since(mark) if e["event"] == "schema.needs_migrate"]
    assert len(warnings) == 1 and "piiq migrate" in warnings[0]["fix"]
