"""Fixtures for testing the runner's parts one at a time, each against the real
PostgreSQL of the test schema, with real collaborators (the statements gateway, an
acker) instead of a whole runner."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from piiq.queue import Client
from piiq.queue._queries import DatabaseHealth, Queries
from piiq.queue._signals import Signals


@pytest.fixture
def signals() -> Signals:
    return Signals().enable()


@pytest.fixture
async def queries(queue_client: Client) -> AsyncIterator[Queries]:
    """The statements gateway of a process named ``parts-<prefix>``, its pool open."""
    gateway = Queries(
        queue_client.database_url or "",
        queue_client.prefix,
        f"parts-{queue_client.prefix}",
        str(uuid.uuid4()),
        DatabaseHealth(reconnect_max=0.2),
    )
    pool = gateway.create_pool(max_size=4)
    await pool.open(wait=True, timeout=10)
    yield gateway
    await pool.close()
