"""Run a real Runner inside a test and wait for what it does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import IO

from piiq.queue import Client, Job, Runner, RunnerOptions, get_job
from piiq.queue._job import utcnow


@asynccontextmanager
async def running(
    client: Client, queues: dict[str, int], clock: Callable[[], datetime] = utcnow, **options
) -> AsyncIterator[Runner]:
    """A runner of ``queues`` on ``client``'s schema, its test signals on (see
    ``Runner.signals``: wait for what it did, never sleep); ``clock`` for its cron ticks."""
    live = Client(client.database_url, prefix=client.prefix)
    runner = Runner(live, queues, options=RunnerOptions(**options), clock=clock)
    runner.signals.enable()
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.started.wait(), 10)
    try:
        yield runner
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 30)


async def wait_for(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``predicate()`` holds, asking it on a worker thread: it may query the
    database, which must never block the event loop the runner under test shares."""
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def load(client: Client, job_id: int) -> Job:
    with client.connect() as conn:
        job = get_job(conn, job_id, client.prefix)
    assert job is not None
    return job


async def run_one(client: Client, job: Job, **options) -> Job:
    """Insert ``job``, run a runner until the job has an outcome; the job as stored."""
    stored = await asyncio.to_thread(client.insert, job)
    assert stored.id is not None
    async with running(client, {stored.queue: 2}, **options):
        await wait_for(lambda: load(client, stored.id).state not in ("available", "executing"))
    return await asyncio.to_thread(load, client, stored.id)


class WorkerProcess:
    """A `piiq worker` child process whose JSON log lines are read as they come: its
    events (job.started, worker.stopping ...) are what a test waits for."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.events: list[dict] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._open = 2  # pipes still being read
        for pipe, sink in ((self.proc.stdout, self._event), (self.proc.stderr, self.stderr.append)):
            threading.Thread(target=self._pump, args=(pipe, sink), daemon=True).start()

    def _event(self, line: str) -> None:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def _pump(self, pipe: IO[str], sink: Callable[[str], None]) -> None:
        for line in pipe:
            with self._changed:
                sink(line)
                self._changed.notify_all()
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def count(self, event: str) -> int:
        with self._changed:
            return sum(1 for e in self.events if e.get("event") == event)

    def wait_until(self, predicate: Callable[[WorkerProcess], bool], within: float = 30.0) -> None:
        """Block until ``predicate(self)`` holds after a log line; fail when the process
        ends first or ``within`` s pass (use ``asyncio.to_thread`` from async tests)."""
        deadline = time.monotonic() + within
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0 or self._open == 0:
                    why = "exited" if self._open == 0 else f"not there within {within} s"
                    raise AssertionError(f"worker {why}; stderr: {''.join(self.stderr)[-2000:]}")
                self._changed.wait(left)

    def stop(self, sig: int = signal.SIGTERM, within: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit (its log read to the end); the exit code."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=within)
        with self._changed:
            self._changed.wait_for(lambda: self._open == 0, timeout=within)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def eventually(predicate: Callable[[], bool], within: float = 30.0) -> None:
    """From synchronous tests: wait until ``predicate()`` (a database state, where no
    event tells) holds; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        time.sleep(0.05)
