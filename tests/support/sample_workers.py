"""Workers that child `piiq worker` processes import in tests (--import tests.support.sample_workers)."""

from __future__ import annotations

import os
import time

import psycopg

from piiq.queue import Job, Worker


class Sleepy(Worker):
    """Sleeps args["seconds"], then records its run in a side table (exactly-once checks)."""

    queue = "work"

    def perform(self, job: Job) -> None:
        time.sleep(float(job.args.get("seconds", 0)))
        table = job.args.get("record_in")
        if table:
            with psycopg.connect(os.environ["PIIQ_DATABASE_URL"]) as conn:
                conn.execute(
                    f'INSERT INTO "{os.environ["PIIQ_QUEUE_PREFIX"]}".{table} (job_id, attempt, pid) '
                    "VALUES (%s, %s, %s)",
                    (job.id, job.attempt, os.getpid()),
                )
