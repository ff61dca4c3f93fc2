"""Every command that talks to the database says what went wrong with it in the same one
line (``piiq.commands.user_errors.database_error``), whichever command path met it: the
group callbacks (``jobs``, ``queues``), their subcommands, ``canary``, ``maintenance``
(its JSON line's ``error``) and the demo.

``piiq worker`` and ``piiq ingress`` are not here on purpose: they are services that wait
for their database (a pod may start before PostgreSQL does), retrying with a log line.
"""

from __future__ import annotations

import json
import subprocess

from piiq.queue import Client
from tests.support.piiq_cli import one_line_error, run_piiq

GROUPS = ("jobs", "queues")  # --prefix belongs to the group: `piiq queues --prefix P pause Q`


def error_lines(commands: list[list[str]], url: str, prefix: str) -> dict[str, str]:
    """The one error line of each command, by command."""
    lines = {}
    for command in commands:
        name, *rest = command
        args = [name, "--prefix", prefix, *rest] if name in GROUPS else [*command]
        env = {"PIIQ_DATABASE_URL": url}
        if name not in GROUPS:
            env["PIIQ_QUEUE_PREFIX"] = prefix
        result = run_piiq(*args, **env)
        lines[" ".join(command)] = (
            maintenance_error(result) if name == "maintenance" else one_line_error(result)
        )
    return lines


def maintenance_error(result: subprocess.CompletedProcess[str]) -> str:
    """A pass that cannot reach the database logs one ``maintenance.failed`` JSON line (the
    CronJob's log); other database errors end the command like any other's."""
    if "maintenance.failed" not in result.stderr:
        return one_line_error(result)
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["event"] == "maintenance.failed"
    return f"Error: {record['error']}"


def the_one_line(lines: dict[str, str]) -> str:
    first = next(iter(lines.values()))
    assert lines == {command: first for command in lines}
    return first


QUERYING = [
    ["jobs"],
    ["jobs", "show", "1"],
    ["queues"],
    ["queues", "pause", "events"],
    ["queues", "resume", "events"],
    ["queues", "scale", "events", "2"],
    ["canary", "--no-wait"],
    ["maintenance", "--once"],
]


def test_an_unreachable_database() -> None:
    # canary is left out: its connection pool waits 30 s for the database before it gives up
    commands = [["migrate"], ["demo"], *(c for c in QUERYING if c[0] != "canary")]
    line = the_one_line(error_lines(commands, "postgresql://u:hunter2@127.0.0.1:1/db", "public"))
    assert line.startswith("Error: cannot reach the database u@127.0.0.1:1/db: ")
    assert line.endswith("; check PIIQ_DATABASE_URL and that PostgreSQL is running")
    assert "hunter2" not in line


def test_a_prefix_naming_no_schema(queue_client: Client) -> None:
    line = the_one_line(error_lines(QUERYING, queue_client.database_url, "pubilc"))
    assert line.startswith("Error: the schema 'pubilc' does not exist in ")
    assert line.endswith(
        ": check --prefix / PIIQ_QUEUE_PREFIX, or create it with `piiq migrate --prefix pubilc`"
    )


def test_a_database_never_migrated(fresh_database: str) -> None:
    line = the_one_line(error_lines(QUERYING, fresh_database, "public"))
    assert line.startswith("Error: the queue's tables are missing in ")
    assert line.endswith("(schema 'public'): run `piiq migrate --prefix public` first")


def test_a_url_that_is_not_postgresql_is_refused_by_the_demo_too() -> None:
    line = one_line_error(run_piiq("demo", PIIQ_DATABASE_URL="mysql://root@db:3306/piiq"))
    assert line == (
        "Error: PIIQ_DATABASE_URL is a mysql:// URL; piiq needs PostgreSQL: "
        "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    )
