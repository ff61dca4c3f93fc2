"""`piiq jobs`, `piiq jobs show`, `piiq queues` and `piiq demo` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from piiq.cli import main
from piiq.queue import Client, Job
from piiq.runtime import metrics
from tests.support.queue_helpers import run_one


def invoke(client: Client, *args: str):
    env = {
        "PIIQ_DATABASE_URL": client.database_url,
        "PIIQ_QUEUE_PREFIX": client.prefix,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(main, list(args), env=env)


def seed(client: Client) -> list[Job]:
    jobs = client.insert_all(
        [Job(worker="app.Scan", queue="events", args={"n": i}) for i in range(3)]
        + [Job(worker="app.Files", queue="pii_detection", args={"file": "F1"})]
    )
    with client.connect() as conn:
        conn.execute(
            f"""UPDATE "{client.prefix}".oban_jobs SET state = 'retryable', attempt = 1,
                errors = ARRAY['{{"at": "2026-01-01T00:00:00Z", "attempt": 1, "error": "ValueError: boom"}}'::jsonb]
                WHERE id = %s""",
            (jobs[-1].id,),
        )
    return jobs


def test_jobs_lists_newest_first_with_filters(queue_client: Client) -> None:
    jobs = seed(queue_client)
    result = invoke(queue_client, "jobs", "--json")
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.output.splitlines()]
    assert [j["id"] for j in listed] == sorted((j.id for j in jobs), reverse=True)
    result = invoke(queue_client, "jobs", "--state", "retryable", "--json")
    assert [json.loads(line)["worker"] for line in result.output.splitlines()] == ["app.Files"]
    table = invoke(queue_client, "jobs", "--queue", "events")
    assert table.exit_code == 0 and "app.Scan" in table.output and "app.Files" not in table.output


def test_jobs_show_prints_args_and_errors(queue_client: Client) -> None:
    jobs = seed(queue_client)
    result = invoke(queue_client, "jobs", "show", str(jobs[-1].id))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["args"] == {"file": "F1"} and shown["errors"][0]["error"] == "ValueError: boom"
    missing = invoke(queue_client, "jobs", "show", "999999")
    assert missing.exit_code == 1 and "no job with id 999999" in missing.output


def test_queues_counts_by_state(queue_client: Client) -> None:
    seed(queue_client)
    result = invoke(queue_client, "queues")
    assert result.exit_code == 0, result.output
    events = next(line for line in result.output.splitlines() if "events" in line)
    assert [cell.strip() for cell in events.split("│") if cell.strip()][:3] == ["events", "3", "0"]


@pytest.mark.slow
def test_demo_runs_to_the_end(fresh_database: str) -> None:
    env = dict(os.environ, PIIQ_DATABASE_URL=fresh_database, COLUMNS="160")
    result = subprocess.run(
        [sys.executable, "-m", "piiq", "demo"], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = " ".join(result.stdout.split())
    assert "3 messages and 2 files deleted, 1 held for review, 1 warning, 7 DMs" in shown
    assert "(15 jobs in all, all settled)" in shown
    # Quarantine, the review message, the author's button and the admin's ruling.
    assert "#general: 🔒 A message was held for review" in shown
    assert "[Release] [Delete] [Mark false positive]" in shown
    assert "I held your message in #general for review" in shown
    assert shown.count("[Not personal data] [I removed it]") == 5  # a DM per message decision
    assert 'modal opened: "Not personal data"' in shown
    assert "Originally posted by @alice" in shown and "released after review by @admin" in shown
    assert "alice posts the same IBAN again: allowed, stays" in shown


async def test_a_kept_unknown_worker_job_is_counted_and_shown(queue_client: Client) -> None:
    """What an operator sees of a job whose worker a deploy has not brought yet: its own
    outcome in piiq_jobs_total, and in `piiq jobs` scheduled with the reason."""
    counted = metrics.JOBS.labels("r", "myapp.workers.Gone", "unknown_worker")
    before = counted._value.get()
    job = await run_one(queue_client, Job(worker="myapp.workers.Gone", queue="r"))
    assert counted._value.get() == before + 1
    (listed,) = [
        json.loads(line) for line in invoke(queue_client, "jobs", "--json").output.splitlines()
    ]
    assert (listed["id"], listed["state"]) == (job.id, "scheduled")
    shown = json.loads(invoke(queue_client, "jobs", "show", str(job.id)).output)
    assert "unknown worker 'myapp.workers.Gone'" in shown["errors"][-1]["error"]
