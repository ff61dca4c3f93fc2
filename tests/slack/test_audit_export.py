"""`piiq audit export`: rows since a time as JSON lines or CSV that parse back to the rows
(the csv and json modules), no text or values, and one line for each bad input."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from piiq.queue import Client
from piiq.queue._job import utcnow
from piiq.runtime.settings import Settings
from piiq.slack import audit
from piiq.slack.preflight import SlackSetupError, check_worker
from piiq.slack.siem import export
from piiq.slack.siem.events import FIELDS, event_of
from piiq.slack.siem.outbox import record_and_queue
from tests.support.piiq_cli import one_line_error, run_piiq


def write(client: Client, count: int) -> list[dict]:
    for n in range(count):
        entry = audit.AuditEntry(
            job_id=500 + n,
            team="T0ACME",
            channel="C0GENERAL",
            ts=f"1700000000.{n:06d}",
            user_id="U0BOB",
            subject="message" if n % 2 else f"file F{n}",
            decision="warn" if n % 2 else "delete",
            entities={"PHONE_NUMBER": n + 1, "US_SSN": 1},
            action="notified",
            outcome='notified; "quoted", and, commas',  # CSV must quote it
        )
        record_and_queue(client, entry, Settings())
    with client.connection() as conn:
        return [event_of(row) for row in reversed(audit.recent(conn, client.prefix, 1000))]


@pytest.fixture
def rows(slack_client: Client) -> list[dict]:
    """Four rows now and one written ten days ago (outside --since 7d)."""
    written = write(slack_client, 5)
    with slack_client.connection() as conn:
        conn.execute(
            f'UPDATE "{slack_client.prefix}".piiq_audit '
            "SET recorded_at = recorded_at - interval '10 days' WHERE id = %s",
            (written[0]["id"],),
        )
    return written[1:]


def test_jsonl_to_stdout_parses_back(rows: list[dict], subprocess_env: dict) -> None:
    result = run_piiq("audit", "export", "--since", "7d", **subprocess_env)
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line) for line in result.stdout.splitlines()]
    assert exported == rows
    assert all(list(event) == list(FIELDS) for event in exported)


def test_csv_to_a_file_parses_back(rows: list[dict], subprocess_env: dict, tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    result = run_piiq(
        "audit", "export", "--since", "7d", "--format", "csv", "--output", str(out),
        **subprocess_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("wrote 4 audit rows since ")
    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == FIELDS
        parsed = list(reader)
    back = [
        {**row, "id": int(row["id"]), "job_id": int(row["job_id"]),
         "entities": json.loads(row["entities"])}
        for row in parsed
    ]  # fmt: skip
    assert back == rows


def test_a_longer_window_takes_the_old_row_too(rows: list[dict], slack_client: Client) -> None:
    with slack_client.connection() as conn:
        since = utcnow() - timedelta(days=30)
        assert len(list(export.rows_since(conn, slack_client.prefix, since))) == 5


@pytest.mark.parametrize(
    ("args", "status", "expected"),
    [
        (["--since", "yesterday"], 2, "Error: Invalid value for '--since': duration 'yesterday'"),
        (["--format", "xml"], 2, "Error: Invalid value for '--format': 'xml' is not one of"),
        (["--output", "/nonexistent/dir/audit.csv"], 1, "Error: cannot write --output "),
    ],
)
def test_bad_input_is_one_line(
    slack_client: Client, subprocess_env: dict, args: list[str], status: int, expected: str
) -> None:
    line = one_line_error(run_piiq("audit", "export", *args, **subprocess_env), status)
    assert line.startswith(expected), line


def test_an_unmigrated_database_is_one_line(queue_client: Client, subprocess_env: dict) -> None:
    """The queue's tables but no audit table (`piiq migrate` makes both)."""
    line = one_line_error(run_piiq("audit", "export", **subprocess_env))
    assert "run `piiq migrate" in line, line


def test_the_audit_table_has_only_the_exported_columns(slack_client: Client) -> None:
    """No column for message text or matched values: what a sink or an export may carry
    is the whole row. A new column must be added to ``FIELDS`` knowingly, not leak."""
    with slack_client.connection() as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'piiq_audit' ORDER BY ordinal_position",
            (slack_client.prefix,),
        ).fetchall()
    assert tuple(name for (name,) in columns) == FIELDS


def test_a_worker_with_half_a_sink_stops_at_start_in_one_line() -> None:
    """`piiq worker` prints a SlackSetupError as its one line (tests/slack/test_slack_cli.py)."""
    settings = Settings(audit_webhook_url="https://siem.example.com/audit")
    with pytest.raises(SlackSetupError) as refused:
        check_worker(settings, ["audit=1"])
    assert str(refused.value) == (
        "the audit webhook sink has PIIQ_AUDIT_WEBHOOK_URL but no "
        "PIIQ_AUDIT_WEBHOOK_SECRET: set it (from a Secret), or unset PIIQ_AUDIT_WEBHOOK_URL"
    )
    check_worker(settings, ["default=1"])  # a worker that neither writes nor sends rows
