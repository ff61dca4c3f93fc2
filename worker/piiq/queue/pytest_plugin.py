"""pytest fixtures for code that uses the queue (registered as the ``piiq_queue`` plugin).

    def test_enqueues_a_scan(queue_client, queue_testing):
        handle_slack_event(queue_client, event)
        queue_testing.assert_enqueued(worker=SlackMessageWorker, args={"channel": "C1"})

``queue_client`` is a Client in manual testing mode on a fresh, migrated schema of the
test database (``PIIQ_TEST_DATABASE_URL``, else an embedded server).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import devdb as testdb
from .client import Client
from .testing import Testing


@pytest.fixture(scope="session")
def queue_database_url() -> str:
    try:
        return testdb.database_url()
    except testdb.NoTestDatabase as exc:
        pytest.skip(str(exc))


@pytest.fixture
def queue_prefix(queue_database_url: str) -> Iterator[str]:
    prefix = testdb.create_schema(queue_database_url)
    yield prefix
    testdb.drop_schema(queue_database_url, prefix)


@pytest.fixture
def queue_client(queue_database_url: str, queue_prefix: str) -> Client:
    return Client(queue_database_url, prefix=queue_prefix, testing="manual")


@pytest.fixture
def queue_testing(queue_client: Client) -> Testing:
    return Testing(queue_client)
