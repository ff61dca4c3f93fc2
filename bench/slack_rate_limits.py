"""Slack's rate limits shared by all workers (PIIQ_SLACK_SHARED_RATE_LIMITS) against each
worker finding them alone: 429s, time to delete, and what the shared check costs.

    .venv/bin/python bench/slack_rate_limits.py [--workers 3] [--messages 120] [--limit 20/10]

The sandbox enforces a per-method limit on chat.delete in its workspace (``--limit``
CALLS/SECONDS, fixed windows; Slack's Tier 3 is about 50 a minute) and answers 429 with
Retry-After as Slack does. Messages with a card number go through a real `piiq ingress`
to ``--workers`` real `piiq worker` processes (events=8 each), once with the limits shared
and once without, in the same run. Printed per run: the 429s Slack sent (in all and in the
worst window), chat.delete calls, the time from delivery to chat.delete (p50/p99) and until
every job settled. Then the price of sharing: one check (a primary-key read in
PostgreSQL) against one Slack call to the local sandbox, p50 of each and their ratio.

The server: PIIQ_BENCH_DATABASE_URL, else PIIQ_TEST_DATABASE_URL, else an embedded one.
Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_latency as e2e
from benchdb import bench_database_url

from piiq import sandbox as sb
from piiq.queue import Client, devdb
from piiq.slack.api import SlackApi
from piiq.slack.ratelimits import SharedRateLimits
from piiq.slack.tables import create_slack_tables

CARD_TEXT = "my card is 4556 7375 8689 9855, exp 04/28"
RATE = 20.0  # events delivered per second: a burst well over the limit


def run(
    server: str, shared: bool, workers: int, messages: int, limit: tuple[int, float]
) -> dict[str, Any]:
    prefix = devdb.create_schema(server)
    with psycopg.connect(server, autocommit=True) as conn:
        create_slack_tables(conn, prefix)
    os.environ["PIIQ_SLACK_SHARED_RATE_LIMITS"] = "true" if shared else "false"
    try:
        with sb.SlackSandbox() as slack, tempfile.TemporaryDirectory() as logs:
            processes, url = e2e._start(server, prefix, slack, workers, Path(logs))
            try:
                warm = e2e._plan(slack, 5, 90)  # the first scan loads the model
                asyncio.run(e2e._deliver(slack, url, warm, 5))
                e2e._wait_settled(server, prefix, len(warm), Console(), "warming up")
                slack.calls.clear()
                slack.limit("chat.delete", *limit)
                planned = []
                for n in range(messages):
                    user = f"U{n:07d}"
                    slack.add_user(user, f"person-{n}")
                    envelope = slack.post_message(e2e.CHANNEL, user, CARD_TEXT)
                    sent = e2e.Sent("pii", user, envelope["event"]["ts"], None)
                    planned.append((sent, json.dumps(envelope).encode()))
                began = time.monotonic()
                asyncio.run(e2e._deliver(slack, url, planned, RATE))
                label = f"shared {'on' if shared else 'off'}"
                expected = len(warm) + messages
                settled = e2e._wait_settled(server, prefix, expected, Console(), label)
                total = time.monotonic() - began
            finally:
                e2e._stop(processes)
            measured = e2e._measure(slack, [s for s, _ in planned])
            windows = Counter(start for _, _, start in slack.method_limits.refused)
            deletes = len(slack.calls_to("chat.delete"))
    finally:
        devdb.drop_schema(server, prefix)
    return {
        "shared": shared,
        "complete": settled is not None and measured["_missed"]["n"] == 0,
        "refused": sum(windows.values()),
        "worst_window": max(windows.values(), default=0),
        "windows": len(windows),
        "deletes": deletes,
        "to_delete": measured["chat.delete"],
        "settled_s": total,
    }


def check_cost(server: str, rounds: int = 500) -> tuple[float, float]:
    """p50 seconds of one shared-limit check and of one Slack call (conversations.open)."""
    prefix = devdb.create_schema(server)
    try:
        with psycopg.connect(server, autocommit=True) as conn:
            create_slack_tables(conn, prefix)
        with sb.SlackSandbox() as slack, Client(server, prefix=prefix) as client:
            limits = SharedRateLimits().workspace(client, sb.TEAM_ID)
            assert limits is not None
            api = SlackApi(slack.base_url, SecretStr(sb.BOT_TOKEN), None)
            checks, calls = [], []
            for _ in range(rounds):
                began = time.perf_counter()
                limits.wait("conversations.open", {})
                checks.append(time.perf_counter() - began)
                began = time.perf_counter()
                api.call(api.bot, "conversations.open", users="U0BOB")
                calls.append(time.perf_counter() - began)
    finally:
        devdb.drop_schema(server, prefix)
    return statistics.median(checks), statistics.median(calls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3, help="piiq worker processes")
    parser.add_argument("--messages", type=int, default=120, help="messages with a card")
    parser.add_argument("--limit", default="20/10", help="chat.delete CALLS/SECONDS")
    args = parser.parse_args()
    calls, _, seconds = args.limit.partition("/")
    limit = (int(calls), float(seconds))
    console = Console()
    server = bench_database_url()
    console.print(
        f"{args.messages} messages with a card at {RATE:g}/s -> piiq ingress -> "
        f"{args.workers} piiq worker processes (events=8); the sandbox allows "
        f"{limit[0]} chat.delete per {limit[1]:g} s in the workspace; 127.0.0.1 only"
    )
    results = [run(server, shared, args.workers, args.messages, limit) for shared in (True, False)]
    table = Table(title="one workspace limit, several workers")
    for column in ("shared", "429s", "worst window", "windows", "chat.delete calls",
                   "to delete p50 s", "p99 s", "all settled s"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            "on" if r["shared"] else "off", str(r["refused"]), str(r["worst_window"]),
            str(r["windows"]), str(r["deletes"]), f"{r['to_delete'].get('p50', 0):.1f}",
            f"{r['to_delete'].get('p99', 0):.1f}", f"{r['settled_s']:.1f}",
        )  # fmt: skip
    console.print(table)
    on, off = results
    console.print(
        f"shared: {on['refused']} 429s ({on['worst_window']} in the worst window) against "
        f"{off['refused']} ({off['worst_window']}) unshared: "
        f"{on['refused'] / max(off['refused'], 1):.2f}x; all settled in "
        f"{on['settled_s']:.1f} s against {off['settled_s']:.1f} s "
        f"({on['settled_s'] / off['settled_s']:.2f}x)"
    )
    check, call = check_cost(server)
    console.print(
        f"one shared check: p50 {check * 1000:.2f} ms; one Slack call to the local sandbox: "
        f"p50 {call * 1000:.2f} ms; the check is {check / call:.2f}x a call"
    )
    incomplete = [r for r in results if not r["complete"]]
    for r in incomplete:
        console.print(f"[red]shared {r['shared']}: not every message deleted and settled[/]")
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
