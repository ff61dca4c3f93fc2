"""Queue throughput: piiq against the best Python peers, same workload, same PostgreSQL,
and against the raw ``FOR UPDATE SKIP LOCKED`` ceiling.

    make bench        # or: .venv-bench/bin/python bench/queue_throughput.py [--jobs N]

Each system (piiq, oban, pgqueuer, procrastinate) runs bench/peers/<system>_peer.py in a
fresh process on a fresh database (workload in bench/peers/common.py): bulk-enqueue
--jobs no-op jobs, process them with one worker at --concurrency 10, then measure
enqueue-to-start latency with an idle worker. Rounds alternate the systems; each
figure is the median over rounds. Prints a table, piiq/peer ratios, and the targets.
``piiq-global`` is piiq with a global limit on the queue (equal to --concurrency, so it
never binds): what the advisory lock and the count in every fetch cost, printed side by
side with plain piiq. piiq's no-op perform is a plain ``def`` (it runs on a job thread,
the harder case); ``piiq-async`` runs an ``async def`` one, as the peers' jobs are.

``ceiling`` (bench/peers/ceiling_peer.py) is no queue at all: plain psycopg on one
connection leasing --concurrency jobs at a time with the textbook SKIP LOCKED UPDATE and
completing them by id (two blocking round trips per batch; piiq sends its acks with the
next fetch), on the same table in the same run. piiq's process rate as a share of it is
what piiq's own per-job work leaves of what the database allows.

The server: PIIQ_BENCH_DATABASE_URL, else PIIQ_TEST_DATABASE_URL, else an embedded one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "worker"))
from benchdb import bench_database_url

from piiq.queue import devdb

PEERS_DIR = Path(__file__).parent / "peers"
SYSTEMS = ("ceiling", "piiq", "piiq-async", "piiq-global", "oban", "pgqueuer", "procrastinate")
METRICS = (
    ("enqueue_jobs_per_s", "enqueue jobs/s", True),
    ("process_jobs_per_s", "process jobs/s", True),
    ("latency_p50_ms", "latency p50 ms", False),
    ("latency_p95_ms", "latency p95 ms", False),
)
TARGETS = "process >= 2x fastest peer, bulk enqueue >= 30,000 jobs/s, latency p50 < 5 ms"


def server_url() -> str:
    return bench_database_url()


def run_system(system: str, server: str, args: argparse.Namespace) -> dict:
    database = devdb.create_database(server)
    try:
        script, extra = system, ["--concurrency", str(args.concurrency)]
        if system == "piiq-global":
            script, extra = "piiq", [*extra, "--global-limit", str(args.concurrency)]
        elif system == "piiq-async":
            script, extra = "piiq", [*extra, "--async-perform"]
        elif system == "ceiling":
            extra = ["--batch", str(args.concurrency)]
        command = [
            sys.executable,
            str(PEERS_DIR / f"{script}_peer.py"),
            "--database-url", database,
            "--jobs", str(args.jobs),
            *extra,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            return {"system": system, "error": f"exit {done.returncode}: {tail}"}
        return json.loads(done.stdout.strip().splitlines()[-1]) | {"system": system}
    finally:
        devdb.drop_database(server, database)


def median_results(runs: list[dict]) -> dict:
    """Median of each figure over the rounds, with its spread (min, max) beside it."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    merged = dict(ok[0])
    for key, _, _ in METRICS:
        if key not in ok[0]:
            continue  # the ceiling has a process rate only
        values = [r[key] for r in ok]
        merged[key] = statistics.median(values)
        merged[key + "_spread"] = (min(values), max(values))
    return merged


def number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def cell(result: dict, key: str) -> str:
    low, high = result[key + "_spread"]
    return f"{number(result[key])} ({number(low)}-{number(high)})"


def ceiling_shares(runs: dict[str, list[dict]], system: str) -> list[float]:
    """Per round: the system's process rate over the ceiling's, run just before it (the
    pair shares the machine's state of the moment; rounds on a busy machine differ)."""
    pairs = zip(runs.get("ceiling", []), runs.get(system, []), strict=False)
    return [
        piiq["process_jobs_per_s"] / ceiling["process_jobs_per_s"]
        for ceiling, piiq in pairs
        if "error" not in ceiling and "error" not in piiq
    ]


def print_ceiling_share(
    console: Console, system: str, runs: dict[str, list[dict]], results: dict[str, dict]
) -> None:
    """A piiq run's process rate as a share of the raw SKIP LOCKED loop's, same rounds."""
    shares = ceiling_shares(runs, system)
    if not shares:
        return
    piiq, ceiling = results[system], results["ceiling"]
    console.print(
        f"{system} fetch-and-ack {cell(piiq, 'process_jobs_per_s')} jobs/s = "
        f"[bold]{statistics.median(shares):.0%}[/] of the raw SKIP LOCKED ceiling "
        f"(median of the rounds' shares, {min(shares):.0%}-{max(shares):.0%}); ceiling "
        f"{cell(ceiling, 'process_jobs_per_s')} jobs/s (plain {ceiling['version']}, one "
        f"connection, batch {ceiling['batch']})"
    )


def print_global_limit_cost(console: Console, plain: dict | None, limited: dict | None) -> None:
    """piiq without and with a global limit, side by side."""
    if not plain or not limited or "error" in plain or "error" in limited:
        return
    table = Table(title="the global limit's cost (piiq-global: piiq with a global limit)")
    table.add_column("figure")
    table.add_column("piiq", justify="right")
    table.add_column("piiq-global", justify="right")
    table.add_column("piiq-global / piiq", justify="right")
    for key, label, _ in METRICS:
        ratio = limited[key] / plain[key] if plain[key] else float("nan")
        table.add_row(label, cell(plain, key), cell(limited, key), f"{ratio:.2f}x")
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    args = parser.parse_args()
    console = Console()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    server = server_url()
    with psycopg.connect(server) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    console.print(
        f"queue benchmark: {args.jobs:,} no-op jobs, concurrency {args.concurrency}, "
        f"{args.rounds} rounds, PostgreSQL {pg_version}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}"
    )
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    with console.status("running") as status:
        for round_ in range(1, args.rounds + 1):
            for system in systems:
                status.update(f"round {round_}/{args.rounds}: {system}")
                started = time.monotonic()
                result = run_system(system, server, args)
                runs[system].append(result)
                figure = result.get("process_jobs_per_s", result.get("error"))
                console.print(
                    f"  round {round_} {system}: process {figure} ({time.monotonic() - started:.0f} s)"
                )
    results = {s: median_results(r) for s, r in runs.items()}

    table = Table(title="median over rounds (min-max)")
    table.add_column("system")
    table.add_column("version")
    for _, label, _ in METRICS:
        table.add_column(label, justify="right")
    for system, result in results.items():
        if system == "ceiling":
            continue
        if "error" in result:
            table.add_row(system, "-", *["error"] * len(METRICS))
            continue
        table.add_row(system, result["version"], *(cell(result, key) for key, _, _ in METRICS))
    console.print(table)

    piiq = results.get("piiq")
    for system in ("piiq", "piiq-async"):
        print_ceiling_share(console, system, runs, results)
    print_global_limit_cost(console, piiq, results.get("piiq-global"))
    peers = {
        s: r
        for s, r in results.items()
        if s != "ceiling" and not s.startswith("piiq") and "error" not in r
    }
    for system, result in results.items():
        if "error" in result:
            console.print(f"[red]{system} failed[/]: {result['error']}")
    if piiq is None or "error" in piiq or not peers:
        return 1 if piiq is None or "error" in piiq else 0
    ratios = Table(title="piiq / peer (higher is better for piiq; latency ratio is peer / piiq)")
    ratios.add_column("peer")
    for _, label, _ in METRICS:
        ratios.add_column(label, justify="right")
    for system, result in peers.items():
        cells = []
        for key, _, higher_better in METRICS:
            ratio = piiq[key] / result[key] if higher_better else result[key] / piiq[key]
            cells.append(f"{ratio:.2f}x")
        ratios.add_row(system, *cells)
    console.print(ratios)
    fastest = max(peers.values(), key=lambda r: r["process_jobs_per_s"])
    process_ratio = piiq["process_jobs_per_s"] / fastest["process_jobs_per_s"]
    checks = [
        (
            f"process rate {process_ratio:.2f}x the fastest peer ({fastest['system']})",
            process_ratio >= 2,
        ),
        (
            f"bulk enqueue {piiq['enqueue_jobs_per_s']:,.0f} jobs/s",
            piiq["enqueue_jobs_per_s"] >= 30_000,
        ),
        (f"latency p50 {piiq['latency_p50_ms']:.2f} ms", piiq["latency_p50_ms"] < 5),
    ]
    console.print(f"targets: {TARGETS}")
    for text, met in checks:
        console.print(f"  {'[green]met[/]' if met else '[red]missed[/]'}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
