"""Shared fixtures. The queue plugin (piiq.queue.pytest_plugin) provides queue_database_url,
queue_prefix, queue_client and queue_testing: a real PostgreSQL (PIIQ_TEST_DATABASE_URL,
else an embedded server), one fresh schema per test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from piiq import logs
from piiq.queue import devdb

SUPPORT = Path(__file__).parent / "support"
sys.path.insert(0, str(SUPPORT))  # shared test helpers: `import queue_helpers`

logs.configure("info", "json")  # what `kubectl logs` shows; pytest prints it on failure


@pytest.fixture
def fresh_database(queue_database_url: str) -> Iterator[str]:
    """An empty database of its own (for migrations in the public schema, CLI runs)."""
    url = devdb.create_database(queue_database_url)
    yield url
    devdb.drop_database(queue_database_url, url)


@pytest.fixture
def subprocess_env(queue_database_url: str, queue_prefix: str) -> dict[str, str]:
    """Environment for `piiq` child processes: the test schema and the sample workers."""
    env = dict(os.environ)
    env.update(
        PIIQ_DATABASE_URL=queue_database_url,
        PIIQ_QUEUE_PREFIX=queue_prefix,
        PIIQ_LOG_FORMAT="json",
        PYTHONPATH=os.pathsep.join([str(SUPPORT), env.get("PYTHONPATH", "")]),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def piiq_command() -> list[str]:
    return [sys.executable, "-m", "piiq"]
