"""The raw ``FOR UPDATE SKIP LOCKED`` ceiling for the queue benchmark.

What the database lets one client do on the same Oban v12 table (same indexes, the same
scrub trigger) with no queue library at all: plain psycopg on one connection, lease
``--batch`` jobs (ceiling_fetch.sql), "run" them (nothing), complete them by id
(ceiling_ack.sql), again until the table is empty. The connection has the settings piiq's
runner uses (autocommit, synchronous_commit off, statements prepared with a generic plan).
piiq's process rate divided by this one is the share of the ceiling piiq reaches: the
rest is what its Python costs per job.

Prints one JSON line: system, version, jobs, batch, process_jobs_per_s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import psycopg

from piiq.queue import Client, Job, migrate_up

HERE = Path(__file__).parent
FETCH = (HERE / "ceiling_fetch.sql").read_text()
ACK = (HERE / "ceiling_ack.sql").read_text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        migrate_up(conn)
    with Client(args.database_url) as client:
        client.insert_all([Job(worker="bench.Noop", queue="bench") for _ in range(args.jobs)])
    options = "-c synchronous_commit=off -c plan_cache_mode=force_generic_plan"
    params = {"queue": "bench", "demand": args.batch, "attempted_by": ["ceiling", "ceiling"]}
    done = 0
    with psycopg.connect(
        args.database_url, autocommit=True, prepare_threshold=0, options=options
    ) as conn:
        started = time.perf_counter()
        while True:
            rows = conn.execute(FETCH, params).fetchall()
            if not rows:
                break
            conn.execute(ACK, {"ids": [row[0] for row in rows]})
            done += len(rows)
        elapsed = time.perf_counter() - started
    if done != args.jobs:
        sys.exit(f"leased {done} of {args.jobs} jobs")
    line = {
        "system": "ceiling",
        "version": f"psycopg {version('psycopg')}",
        "jobs": done,
        "batch": args.batch,
        "process_jobs_per_s": round(done / elapsed),
    }
    sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
