"""Point 8: the maintenance CronJob, run now with `kubectl create job --from=cronjob/...`:
its pod completes, pruning an old finished job; an orphaned one is rescued once. The
workers run the same Lifeline every second, so either they or the CronJob's pass rescue it,
whichever looks first; the CronJob alone is tested in tests/e2e and tests/jobqueue."""

from __future__ import annotations

import datetime
import json
from typing import Any

import psycopg

from piiq.commands.canary import Canary
from piiq.queue import Client
from tests.support.cluster.harness import Cluster, eventually
from tests.support.cluster.suite import NAMESPACE, PIIQUEUE

WITHIN = 120


def seed(database_url: str) -> tuple[int, int]:
    """A job finished 30 days ago (to prune) and one left executing two hours ago by a
    worker nobody knows (to rescue: past the CronJob's --rescue-after 30m)."""
    with Client(database_url) as client:
        old, orphan = client.insert_all(
            [Canary.new(queue="default", schedule_in=3600) for _ in range(2)]
        )
    now = datetime.datetime.now(datetime.UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE oban_jobs SET state = 'completed', attempt = 1, attempted_at = %s, "
            "completed_at = %s WHERE id = %s",
            (now - datetime.timedelta(days=30),) * 2 + (old.id,),
        )
        conn.execute(
            "UPDATE oban_jobs SET state = 'executing', attempt = 1, max_attempts = 3, "
            "attempted_at = %s, "
            "attempted_by = ARRAY['node-gone', 'c0ffee00-0000-4000-8000-000000000000'] "
            "WHERE id = %s",
            (now - datetime.timedelta(hours=2), orphan.id),
        )
    return old.id, orphan.id


def jobs(database_url: str, ids: tuple[int, ...]) -> dict[int, tuple[str, list[Any]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, state, errors FROM oban_jobs WHERE id = ANY(%s)", (list(ids),)
        )
        return {int(i): (str(state), errors) for i, state, errors in rows.fetchall()}


def test_the_maintenance_job_prunes_and_rescues(piiqueue: Cluster, database_url: str) -> None:
    old, orphan = seed(database_url)
    piiqueue.kubectl(
        "create",
        "job",
        "maintenance-now",
        f"--from=cronjob/{PIIQUEUE}-maintenance",
        "-n",
        NAMESPACE,
    )
    piiqueue.kubectl(
        "wait", "--for=condition=Complete", "job/maintenance-now", "-n", NAMESPACE, "--timeout=120s"
    )
    logs = piiqueue.kubectl("logs", "job/maintenance-now", "-n", NAMESPACE).stdout
    (summary,) = [json.loads(line) for line in logs.splitlines() if '"pruned"' in line]
    assert summary["pruned"]["completed"] >= 1, summary
    found = eventually(
        lambda: (s := jobs(database_url, (old, orphan)))[orphan][0] == "completed" and s,
        WITHIN,
        "the rescued job run by the default queue's workers",
    )
    assert old not in found
    rescues = [e for e in found[orphan][1] if e["error"].startswith("rescued: ")]
    assert len(rescues) == 1, found[orphan]
