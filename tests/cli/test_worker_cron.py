"""``piiq worker --cron``: periodic jobs from the command line, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter

from psycopg import sql

from piiq.queue import Client
from tests.support.piiq_cli import one_line_error, run_piiq

APP = (
    "from piiq.queue import Worker\n\n"
    "class Report(Worker):\n"
    "    queue = 'app'\n\n"
    "    def perform(self, job):\n"
    "        return None\n"
)


def ticks(client: Client) -> Counter[str]:
    query = sql.SQL(
        "SELECT meta->>'cron_tick' FROM {}.oban_jobs WHERE worker = 'myapp.Report' "
        "AND args = '{{\"kind\": \"cli\"}}' AND meta->>'cron_expr' = '* * * * *'"
    ).format(sql.Identifier(client.prefix))
    with client.connect() as conn:
        return Counter(row[0] for row in conn.execute(query).fetchall())


def test_two_workers_with_the_same_cron_insert_one_job_per_minute(
    queue_client: Client, tmp_path
) -> None:
    (tmp_path / "myapp.py").write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIIQ_")} | {
        "PIIQ_DATABASE_URL": queue_client.database_url,
        "PIIQ_QUEUE_PREFIX": queue_client.prefix,
        "PIIQ_METRICS_PORT": "0",
        "PYTHONPATH": str(tmp_path),
    }
    cron = '* * * * * myapp.Report {"args": {"kind": "cli"}}'
    command = [sys.executable, "-m", "piiq", "worker", "--import", "myapp", "--queue", "app=1",
               "--cron", cron, "--cron", "0 0 1 1 * myapp.Report"]  # fmt: skip
    workers = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs: list[list[str]] = [[], []]
    readers = [
        threading.Thread(target=lambda w=w, lines=lines: lines.extend(w.stdout), daemon=True)
        for w, lines in zip(workers, outputs, strict=True)
    ]
    for reader in readers:
        reader.start()

    def evaluated(lines: list[str]) -> bool:
        return any('"event": "cron.evaluated"' in line for line in list(lines))

    try:  # until both have evaluated the minute (each starts with the current one)
        deadline = time.monotonic() + 30
        while not (ticks(queue_client) and all(evaluated(lines) for lines in outputs)):
            assert all(w.poll() is None for w in workers), outputs
            assert time.monotonic() < deadline, f"no cron job in 30 s: {outputs}"
            time.sleep(0.1)
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=30)
    found = ticks(queue_client)
    assert found and set(found.values()) == {1}, (found, outputs)


def test_a_bad_cron_expression_is_named() -> None:
    line = one_line_error(
        run_piiq(
            "worker",
            "--queue",
            "app=1",
            "--cron",
            "*/5 25 * * * myapp.Report",
            PIIQ_DATABASE_URL="postgresql://x@127.0.0.1:1/x",
        )
    )
    assert "cron expression '*/5 25 * * *': hour value 25 is out of range 0-23" in line


def test_cron_refuses_a_prune_age_under_a_minute() -> None:
    line = one_line_error(
        run_piiq(
            "worker",
            "--queue",
            "app=1",
            "--cron",
            "@hourly myapp.Report",
            "--prune-max-age",
            "10s",
            PIIQ_DATABASE_URL="postgresql://x@127.0.0.1:1/x",
        ),
        status=2,
    )
    assert "--prune-max-age 10s with --cron" in line
