"""Maintenance figures: prune throughput against Oban's pruner query, and rescue latency.

    .venv/bin/python bench/maintenance.py [--rows 200000] [--kills 3] [--heartbeat-timeout 30s]

1. Prune: --rows finished jobs (a third each completed, cancelled, discarded, 8 days
   old) among --young-rows finished a day ago (kept: a 7-day retention keeps most rows)
   in a fresh schema; piiq's Pruner deletes the old ones in batches of 10,000. The peer is
   Elixir Oban v12's pruner query shape (one DELETE of up to 10,000 ids matching any
   final state, completed aged by scheduled_at) on an identical table, in the same run.
2. Rescue: a `piiq worker` runs two 10 s jobs while a second one idles; the first is
   killed with SIGKILL; the figure is the time until each of its jobs is executing
   again under the survivor. piiq rescues by database session (the dead process's
   session lock is free) after two missed heartbeats (--heartbeat-interval, 1 s), the
   heartbeat timeout being the fallback for a hung process. Oban's Lifeline would wait
   rescue_after (60 min by default; the seed uses 30 min).

The server: PIIQ_BENCH_DATABASE_URL, else PIIQ_TEST_DATABASE_URL, else an embedded one.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "worker"))
from benchdb import bench_database_url  # noqa: E402

from piiq.queue import (  # noqa: E402
    Client,
    Job,
    MaintenanceOptions,
    devdb,
    parse_duration,
)
from piiq.queue._maintenance import prune_steps  # noqa: E402
from piiq.queue._steps import run_sync  # noqa: E402

OBAN_V12_PRUNE = """
DELETE FROM {p}.oban_jobs WHERE id IN (
  SELECT id FROM {p}.oban_jobs
  WHERE (state = 'completed' AND scheduled_at < timezone('UTC', now()) - interval '7 days')
     OR (state = 'cancelled' AND cancelled_at < timezone('UTC', now()) - interval '7 days')
     OR (state = 'discarded' AND discarded_at < timezone('UTC', now()) - interval '7 days')
  LIMIT 10000)
"""

FILL = """
INSERT INTO {p}.oban_jobs (worker, args, state, scheduled_at, completed_at, cancelled_at, discarded_at)
SELECT 'bench.W', jsonb_build_object('i', g), s::{p}.oban_job_state, t, t, t, t
FROM generate_series(1, %(rows)s) g,
     LATERAL (SELECT (ARRAY['completed','cancelled','discarded'])[1 + g %% 3] AS s,
                     timezone('UTC', now()) - %(age)s::interval AS t) x
"""


def prune_figures(server: str, rows: int, young: int, console: Console) -> tuple[float, float]:
    rates = []
    for label in ("piiq", "oban-v12-query"):
        prefix = devdb.create_schema(server)
        try:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(FILL.format(p=f'"{prefix}"'), {"rows": young, "age": "1 day"})
                conn.execute(FILL.format(p=f'"{prefix}"'), {"rows": rows, "age": "8 days"})
                conn.execute(f'VACUUM ANALYZE "{prefix}".oban_jobs')
                started = time.perf_counter()
                if label == "piiq":
                    summary = run_sync(
                        conn, prune_steps(prefix, MaintenanceOptions(prune_limit=10_000))
                    )
                    deleted = sum(summary.pruned.values())
                else:
                    deleted = 0
                    while True:
                        count = conn.execute(OBAN_V12_PRUNE.format(p=f'"{prefix}"')).rowcount
                        deleted += count
                        if count == 0:
                            break
                elapsed = time.perf_counter() - started
            assert deleted == rows, f"{label} deleted {deleted} of {rows}"
            rates.append(rows / elapsed)
            console.print(
                f"  prune {label}: {rows:,} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s"
            )
        finally:
            devdb.drop_schema(server, prefix)
    return rates[0], rates[1]


# The tests' workers, importable by the worker processes with the repository root on PYTHONPATH.
SAMPLE_WORKERS = "tests.support.sample_workers"


def rescue_latencies(server: str, kills: int, timeout: float, console: Console) -> list[float]:
    prefix = devdb.create_schema(server)
    env = dict(os.environ, PIIQ_DATABASE_URL=server, PIIQ_QUEUE_PREFIX=prefix,
               PYTHONPATH=str(ROOT), PIIQ_LOG_LEVEL="warning",
               PIIQ_METRICS_PORT="0")  # fmt: skip
    command = [sys.executable, "-m", "piiq", "worker", "--import", SAMPLE_WORKERS,
               "--queue", "work=2", "--heartbeat-timeout", f"{timeout}s"]  # fmt: skip
    client = Client(server, prefix=prefix)
    latencies = []
    try:
        for kill in range(1, kills + 1):
            victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
            client.insert_all(
                [
                    Job(worker=f"{SAMPLE_WORKERS}.Sleepy", queue="work", args={"seconds": 10})
                    for _ in range(2)
                ]
            )
            with psycopg.connect(server, autocommit=True) as conn:
                held = []
                while len(held) < 2:
                    if victim.poll() is not None:
                        raise SystemExit("the worker exited at start: see its output above")
                    held = conn.execute(
                        f"SELECT id FROM \"{prefix}\".oban_jobs WHERE state = 'executing' AND attempt = 1"
                    ).fetchall()
                    time.sleep(0.05)
                survivor = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
                live = f'SELECT count(*) FROM "{prefix}".piiq_producers WHERE stopped_at IS NULL'
                while conn.execute(live).fetchone()[0] < kill + 1:  # the survivor is up
                    if survivor.poll() is not None or victim.poll() is not None:
                        raise SystemExit("a worker exited at start: see its output above")
                    time.sleep(0.05)
                victim.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
                victim.wait()
                ids = [r[0] for r in held]
                while True:
                    again = conn.execute(
                        f'SELECT count(*) FROM "{prefix}".oban_jobs WHERE id = ANY(%s) AND attempt = 2',
                        (ids,),
                    ).fetchone()[0]
                    if again == len(ids):
                        break
                    time.sleep(0.05)
                latency = time.monotonic() - killed_at
                latencies.append(latency)
                console.print(f"  kill {kill}: jobs running again {latency:.1f} s after SIGKILL")
                survivor.send_signal(signal.SIGTERM)
                survivor.wait(timeout=60)
                conn.execute(f'DELETE FROM "{prefix}".oban_jobs')
    finally:
        client.close()
        devdb.drop_schema(server, prefix)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--young-rows", type=int, default=200_000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--heartbeat-timeout", default="30s")
    args = parser.parse_args()
    console = Console()
    server = bench_database_url()
    timeout = parse_duration(args.heartbeat_timeout)
    console.print(
        f"maintenance benchmark: {args.rows:,} finished rows, {args.kills} kills, heartbeat timeout {timeout:g} s"
    )
    piiq_rate, oban_rate = prune_figures(server, args.rows, args.young_rows, console)
    latencies = rescue_latencies(server, args.kills, timeout, console) if args.kills else [0.0]
    console.print(
        f"prune: piiq {piiq_rate:,.0f} rows/s, Oban v12 query {oban_rate:,.0f} rows/s, ratio {piiq_rate / oban_rate:.2f}x"
    )
    console.print(
        f"rescue after SIGKILL: median {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s "
        f"(by session lock, heartbeat interval 1 s; heartbeat timeout {timeout:g} s as the "
        "fallback); Oban's Lifeline: rescue_after (30-60 min)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
