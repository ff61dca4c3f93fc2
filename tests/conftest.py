"""Shared fixtures. The queue plugin (piiq.queue.pytest_plugin, opt-in: enabled below)
provides queue_database_url, queue_prefix, queue_client and queue_testing: a real PostgreSQL
(PIIQ_TEST_DATABASE_URL, named by the queue_database_url_env ini option in pyproject.toml,
else an embedded server), one fresh schema per test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from piiq.queue import devdb
from piiq.runtime import logs
from tests.support.log_capture import RECORDER, LogRecorder

pytest_plugins = ["piiq.queue.pytest_plugin"]

# The repository root: what child processes need on PYTHONPATH to import the tests' helpers
# (`piiq worker --import tests.support.sample_workers`).
ROOT = Path(__file__).parents[1]

# The cluster suite needs the control plane that `make test-cluster` builds and names.
collect_ignore = [] if os.environ.get("PIIQ_CLUSTER_BIN") else ["cluster"]

# What `kubectl logs` shows: JSON lines. Recorded for the log tests; pytest prints them
# with a failing test.
logs.configure("info", "json", stream=RECORDER)  # type: ignore[arg-type]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every log line of the run, end-to-end tests included, is checked for the personal
    data and secrets the tests use: one leak fails the run."""
    from tests.support.pii_samples import leaks

    leaked = leaks(RECORDER.lines)
    if leaked:
        print(
            f"\n{len(leaked)} log line(s) carry personal data or a secret:", *leaked[:5], sep="\n"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def log_lines() -> Iterator[LogRecorder]:
    """The log recorder; ``log_lines.since(mark)`` parses lines written after ``mark``."""
    yield RECORDER


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
        PIIQ_METRICS_PORT="0",  # several workers per test: no shared port
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def piiq_command() -> list[str]:
    return [sys.executable, "-m", "piiq"]
