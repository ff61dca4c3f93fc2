"""A no-op job that proves, end to end, that a queue is served.

``piiq canary --queue events`` inserts one and waits for a worker to complete it: the
database is reachable, migrated, and some worker leases that queue. The Helm test hook
and the image test use it; so can a person checking a deployment.
"""

from __future__ import annotations

import time

import click

from ..queue import Client, Job, Worker, get_job

ENDED = ("completed", "discarded", "cancelled")  # the states a job does not leave


class Canary(Worker):
    # The name stored in the worker column and the metrics' worker label since the canary
    # was piiq.canary: kept so jobs inserted by an older piiq, dashboards and crontabs
    # still name it. Every `piiq worker` imports this module (commands.worker), so the
    # name resolves there.
    name = "piiq.canary.Canary"
    max_attempts = 1

    def perform(self, job: Job) -> None:
        return None


def send_canary(client: Client, queue: str, timeout: float | None) -> tuple[bool, str]:
    """Insert a canary on ``queue``; with a timeout, wait until it reaches a final state."""
    job = client.insert(Canary.new(queue=queue))
    if timeout is None:
        return True, f"canary job {job.id} enqueued on queue {queue!r}"
    deadline = time.monotonic() + timeout
    state = job.state  # final already when the client runs jobs inline (no id, no row)
    while job.id is not None and state not in ENDED and time.monotonic() < deadline:
        with client.connect() as conn:
            found = get_job(conn, job.id, client.prefix)
        state = found.state if found else "pruned"
        if state not in ENDED:
            time.sleep(0.2)
    if state == "completed":
        return True, f"canary job {job.id} completed on queue {queue!r}"
    if state in ENDED:
        return False, f"canary job {job.id} ended {state} on queue {queue!r}"
    return False, (
        f"canary job {job.id} still {state} after {timeout:g}s: is a worker running "
        f"`piiq worker --queue {queue}=N` against this database?"
    )


def canary(url: str, prefix: str, queue: str, timeout: float, no_wait: bool) -> int:
    """Send a canary, say what became of it; the exit status (1: no worker completed it)."""
    with Client(url, prefix=prefix) as client:
        ok, message = send_canary(client, queue, None if no_wait else timeout)
    click.echo(message)
    return 0 if ok else 1
