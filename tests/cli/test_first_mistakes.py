"""A new user's first mistakes, run as a real ``piiq`` process: one line on stderr naming
the value and the fix, exit status 1 (2 for usage errors), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from piiq.queue import Client, Job
from tests.support.piiq_cli import one_line_error, run_piiq
from tests.support.queue_helpers import load


@pytest.mark.parametrize("command", [["queues"], ["jobs"], ["jobs", "show", "1"]])
def test_a_database_never_migrated_says_run_migrate(fresh_database: str, command) -> None:
    line = one_line_error(run_piiq(*command, PIIQ_DATABASE_URL=fresh_database))
    assert "tables are missing" in line
    assert "run `piiq migrate --prefix public`" in line


def test_a_prefix_naming_no_schema_says_so(queue_client: Client) -> None:
    line = one_line_error(
        run_piiq("queues", "--prefix", "pubilc", PIIQ_DATABASE_URL=queue_client.database_url)
    )
    assert "the schema 'pubilc' does not exist" in line
    assert "--prefix" in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root@db:3306/piiq", "PIIQ_DATABASE_URL is a mysql:// URL"),
        ("postgresql//piiq@db/piiq", "PIIQ_DATABASE_URL is not a PostgreSQL URL"),
    ],
)
def test_a_url_that_is_not_postgresql_names_the_variable_and_the_form(
    url: str, expected: str
) -> None:
    line = one_line_error(run_piiq("queues", PIIQ_DATABASE_URL=url))
    assert expected in line
    assert "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE" in line


def test_a_bad_database_url_option_is_named_as_the_option() -> None:
    line = one_line_error(run_piiq("jobs", "--database-url", "mysql://x@y/z"))
    assert "--database-url is a mysql:// URL" in line


@pytest.mark.parametrize("command", [["queues"], ["scan", "hello"], ["migrate"]])
def test_a_bad_setting_names_the_variable_and_the_allowed_values(command) -> None:
    result = run_piiq(
        *command, PIIQ_LOG_LEVEL="verbose", PIIQ_DATABASE_URL="postgresql://x@127.0.0.1:1/x"
    )
    line = one_line_error(result)
    assert "PIIQ_LOG_LEVEL='verbose' is not allowed" in line
    assert "'debug', 'info', 'warning' or 'error'" in line


def test_a_bad_secret_setting_never_echoes_its_value() -> None:
    result = run_piiq("queues", PIIQ_DATABASE_URL="postgresql://x@127.0.0.1:1/x",
                      PIIQ_MAX_FILE_BYTES="lots", PIIQ_METRICS_PORT="x9090")  # fmt: skip
    line = one_line_error(result)
    assert "PIIQ_MAX_FILE_BYTES='lots' is not valid" in line
    assert "PIIQ_METRICS_PORT='x9090' is not valid" in line


def test_an_unreachable_server_hides_the_password() -> None:
    line = one_line_error(
        run_piiq("queues", PIIQ_DATABASE_URL="postgresql://u:hunter2@127.0.0.1:1/db")
    )
    assert "cannot reach the database u@127.0.0.1:1/db" in line
    assert "hunter2" not in line


def test_worker_imports_the_apps_module_from_the_working_directory(
    queue_client: Client, tmp_path
) -> None:
    """``piiq worker --import myapp`` from the app's directory, no PYTHONPATH: the job of
    the app's own worker completes."""
    (tmp_path / "myapp.py").write_text(
        "from piiq.queue import Worker\n\n"
        "class Hello(Worker):\n"
        "    queue = 'app'\n\n"
        "    def perform(self, job):\n"
        "        return None\n"
    )
    (job,) = queue_client.insert_all([Job(worker="myapp.Hello", queue="app", args={})])
    env = {
        "PIIQ_DATABASE_URL": queue_client.database_url,
        "PIIQ_QUEUE_PREFIX": queue_client.prefix,
        "PIIQ_METRICS_PORT": "0",
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIIQ_")}
    clean.pop("PYTHONPATH", None)
    # The console script, as users run it (``python -m`` would put the directory on the path).
    piiq = str(Path(sys.executable).with_name("piiq"))
    worker = subprocess.Popen(
        [piiq, "worker", "--import", "myapp", "--queue", "app=1"],
        cwd=tmp_path, env=clean | env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while load(queue_client, job.id).state != "completed" and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker did not complete the job in 30 s"
            time.sleep(0.1)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert load(queue_client, job.id).state == "completed", output


def test_worker_with_a_module_that_cannot_be_imported_says_which(tmp_path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIIQ_")}
    result = subprocess.run(
        [sys.executable, "-m", "piiq", "worker", "--import", "nosuchapp", "--queue", "app=1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env=clean | {"PIIQ_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"},
    )  # fmt: skip
    line = one_line_error(result, status=2)
    assert "cannot import 'nosuchapp'" in line
