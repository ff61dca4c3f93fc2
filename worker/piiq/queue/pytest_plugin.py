"""pytest fixtures for code that uses the queue. Opt-in: enable it in your conftest.py with
``pytest_plugins = ["piiq.queue.pytest_plugin"]``.

    def test_enqueues_a_scan(queue_client, queue_testing):
        handle_slack_event(queue_client, event)
        queue_testing.assert_enqueued(worker=SlackMessageWorker, args={"channel": "C1"})

``queue_client`` is a Client in manual testing mode on a fresh, migrated schema of the
test database: the URL in the environment variable the ``queue_database_url_env`` ini option
names (``TEST_DATABASE_URL`` by default), else an embedded server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import devdb as testdb
from ._client import Client
from .testing import Testing


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "queue_database_url_env",
        "environment variable with the test PostgreSQL URL (unset: an embedded server)",
        default=testdb.DEFAULT_ENV_VAR,
    )


@pytest.fixture(scope="session")
def queue_database_url(pytestconfig: pytest.Config) -> str:
    try:
        return testdb.database_url(pytestconfig.getini("queue_database_url_env"))
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
