"""End to end: how long personal data stays visible in Slack.

    .venv/bin/python bench/e2e_latency.py [--rates 50,200] [--seconds 20] [--workers 1]

The local Slack sandbox delivers signed Events API requests at a steady rate to a real
`piiq ingress`, and real `piiq worker` processes scan, delete and DM through the Slack SDK
over HTTP, as in production. The mix is what a busy workspace sends: mostly clean chat,
some messages with personal data (cards, SSNs, emails, phone numbers with context) and
some shared files with personal data.

For every message with personal data it prints the time from the event's delivery to
Slack's `chat.delete` (how long the data stayed visible), and to the author's DM; for
files, to `files.delete`; p50/p95/p99 and max, per rate, plus the sustained rate (events
delivered per second and messages settled per second). Each author is a user of their own,
so each DM belongs to exactly one message.

The server: PIIQ_BENCH_DATABASE_URL, else PIIQ_TEST_DATABASE_URL, else an embedded one.
Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "worker"))
from benchdb import bench_database_url  # noqa: E402

from piiq import sandbox as sb  # noqa: E402
from piiq.queue import devdb  # noqa: E402
from piiq.runtime.ports import free_port  # noqa: E402
from piiq.slack.tables import create_slack_tables  # noqa: E402

CHANNEL = "C0BENCH"
SETTLE_TIMEOUT_S = 120.0
CLEAN = [
    "morning! standup moved to 10:30",
    "deployed v2.14.1 to staging, build 48213 green",
    "can someone review PR #4412? it touches the fetch path",
    "lunch at 12:15?",
    "the p99 went from 180 ms to 95 ms after the index change",
    "node 10.42.0.17 is draining, will be back at 14:00",
    "thanks, looks good to me",
    "retro notes are in the doc, see section 3",
]
PII = [
    "my card is 4556 7375 8689 9855, exp 04/28",
    "for the HR form my SSN is 536-22-1474",
    "send the contract to maria.gonzalez@acme-corp.com please",
    "Visa 4916-3385-0608-2832 for the hotel booking",
    "refund to IBAN DE89 3704 0044 0532 0130 00 please",
]
FILE_PII = b"Employee: John Smith\nSSN: 536-22-1474\nCard: 5425 2334 3010 9903\n"


@dataclass
class Sent:
    kind: str  # clean / pii / file
    user: str
    ts: str
    file_id: str | None
    delivered_at: float = 0.0
    status: int = 0


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a piiq process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {timeout:g} s")


def _start(
    server: str, prefix: str, slack: sb.SlackSandbox, workers: int, logs: Path
) -> tuple[list[subprocess.Popen[bytes]], str]:
    env = dict(
        os.environ,
        PIIQ_DATABASE_URL=server,
        PIIQ_QUEUE_PREFIX=prefix,
        PIIQ_SLACK_API_URL=slack.base_url,
        PIIQ_SLACK_BOT_TOKEN=sb.BOT_TOKEN,
        PIIQ_SLACK_ADMIN_TOKEN=sb.ADMIN_TOKEN,
        PIIQ_SLACK_SIGNING_SECRET=sb.SIGNING_SECRET,
        PIIQ_LOG_LEVEL="warning",
        PIIQ_LOG_FORMAT="json",
        PIIQ_METRICS_PORT="0",
    )
    port = free_port()
    piiq = [sys.executable, "-m", "piiq"]
    ingress = [*piiq, "ingress", "--host", "127.0.0.1", "--port", str(port)]
    worker = [*piiq, "worker", "--queue", "events=8", "--queue", "pii_detection=2"]
    processes = []
    for index, command in enumerate([ingress] + [worker] * workers):
        log = (logs / f"process-{index}.log").open("wb")
        processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
    _wait_ready(f"http://127.0.0.1:{port}/readyz", processes[0])
    return processes, f"http://127.0.0.1:{port}/slack/events"


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _plan(slack: sb.SlackSandbox, count: int, serial: int) -> list[tuple[Sent, bytes]]:
    """``count`` events: 80 % clean chat, 15 % text with PII, 5 % a file with PII."""
    planned = []
    for n in range(count):
        roll = random.random()
        kind = "clean" if roll < 0.80 else "pii" if roll < 0.95 else "file"
        user = f"U{serial:02d}{n:06d}"
        slack.add_user(user, f"person{serial}-{n}")
        files = None
        if kind == "file":
            files = [slack.add_file(f"form-{n}.txt", FILE_PII)]
        text = random.choice(CLEAN if kind == "clean" else PII if kind == "pii" else ["form"])
        envelope = slack.post_message(CHANNEL, user, text, files=files)
        body = json.dumps(envelope).encode()
        file_id = files[0]["id"] if files else None
        planned.append((Sent(kind, user, envelope["event"]["ts"], file_id), body))
    return planned


async def _deliver(
    slack: sb.SlackSandbox, url: str, planned: list[tuple[Sent, bytes]], rate: float
) -> float:
    """POST each event at its slot of a steady ``rate``; returns the achieved rate."""
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(sent: Sent, body: bytes, due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            headers = slack.signed_headers(body)
            sent.delivered_at = time.time()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                sent.status = response.status

        begin = time.monotonic()
        await asyncio.gather(
            *(one(s, body, begin + i / rate) for i, (s, body) in enumerate(planned))
        )
        return len(planned) / (time.monotonic() - begin)


def _settled(server: str, prefix: str, expected: int) -> int:
    with psycopg.connect(server) as conn:
        row = conn.execute(
            f"""SELECT count(*) FROM "{prefix}".oban_jobs
                WHERE state IN ('completed', 'discarded', 'cancelled')"""
        ).fetchone()
    return int(row[0]) if row else 0


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    values = sorted(values)

    def at(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": values[-1],
    }


def _measure(slack: sb.SlackSandbox, sent: list[Sent]) -> dict[str, dict[str, float]]:
    deletes = {(c.args.get("channel"), c.args.get("ts")): c.at
               for c in slack.calls_to("chat.delete", ok=True)}  # fmt: skip
    file_deletes = {c.args.get("file"): c.at for c in slack.calls_to("files.delete", ok=True)}
    first_dm: dict[str, float] = {}
    for call in slack.calls_to("chat.postMessage", ok=True):
        first_dm.setdefault(str(call.args.get("channel")), call.at)
    to_delete, to_dm, to_file_delete, missed = [], [], [], 0
    for s in sent:
        if s.kind == "pii":
            deleted = deletes.get((CHANNEL, s.ts))
            missed += deleted is None
            if deleted is not None:
                to_delete.append(deleted - s.delivered_at)
            dm = first_dm.get(sb.dm_channel(s.user))
            if dm is not None:
                to_dm.append(dm - s.delivered_at)
        elif s.kind == "file" and s.file_id in file_deletes:
            to_file_delete.append(file_deletes[s.file_id] - s.delivered_at)
    return {
        "chat.delete": _percentiles(to_delete),
        "author's DM": _percentiles(to_dm),
        "files.delete": _percentiles(to_file_delete),
        "_missed": {"n": missed},
    }


def run_rate(
    server: str, rate: float, seconds: float, workers: int, serial: int, console: Console
) -> dict[str, Any]:
    prefix = devdb.create_schema(server)
    with psycopg.connect(server, autocommit=True) as conn:
        create_slack_tables(conn, prefix)
    count = int(rate * seconds)
    try:
        with sb.SlackSandbox() as slack, tempfile.TemporaryDirectory() as logs:
            processes, url = _start(server, prefix, slack, workers, Path(logs))
            try:
                planned = _plan(slack, count, serial)
                # Warm-up outside the measurement: the first scan loads the model.
                warm = _plan(slack, 20, serial + 50)
                asyncio.run(_deliver(slack, url, warm, 20))
                _wait_settled(server, prefix, len(warm), console, "warming up")
                slack.calls.clear()
                began = time.monotonic()
                achieved = asyncio.run(_deliver(slack, url, planned, rate))
                expected = len(warm) + count + sum(1 for s, _ in planned if s.kind == "file")
                settled_in = _wait_settled(server, prefix, expected, console, f"{rate:g}/s")
                total = time.monotonic() - began
            finally:
                _stop(processes)
            sent = [s for s, _ in planned]
            result = _measure(slack, sent)
    finally:
        devdb.drop_schema(server, prefix)
    statuses: dict[int, int] = {}
    for s in sent:
        statuses[s.status] = statuses.get(s.status, 0) + 1
    return {
        "rate": rate,
        "achieved": achieved,
        "settled_rate": count / total if settled_in is not None else 0.0,
        "complete": settled_in is not None,
        "statuses": statuses,
        "counts": {k: sum(1 for s in sent if s.kind == k) for k in ("clean", "pii", "file")},
        **result,
    }


def _wait_settled(
    server: str, prefix: str, expected: int, console: Console, label: str
) -> float | None:
    began = time.monotonic()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{label}: jobs settled", total=expected)
        while time.monotonic() - began < SETTLE_TIMEOUT_S:
            done = _settled(server, prefix, expected)
            progress.update(task, completed=done)
            if done >= expected:
                return time.monotonic() - began
            time.sleep(0.2)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="50,200", help="events per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--workers", type=int, default=1, help="piiq worker processes")
    args = parser.parse_args()
    console = Console()
    server = bench_database_url()
    rates = [float(r) for r in args.rates.split(",")]
    console.print(
        f"piiq end to end: sandbox -> signed events -> piiq ingress -> {args.workers} piiq "
        f"worker(s) (events=8, pii_detection=2) -> chat.delete / DM; {args.seconds:g} s per "
        "rate; mix 80 % clean, 15 % PII text, 5 % files with PII; 127.0.0.1 only"
    )
    results = [
        run_rate(server, rate, args.seconds, args.workers, serial, console)
        for serial, rate in enumerate(rates)
    ]
    table = Table(title="time from Slack's delivery to the effect (seconds)")
    for column in ("rate", "sustained", "effect", "n", "p50", "p95", "p99", "max"):
        table.add_column(column, justify="right")
    ok = True
    for r in results:
        sustained = f"{r['achieved']:.0f} in / {r['settled_rate']:.0f} done"
        for effect in ("chat.delete", "author's DM", "files.delete"):
            p = r[effect]
            table.add_row(f"{r['rate']:g}/s", sustained, effect, str(p.get("n", 0)),
                          *(f"{p[k]:.2f}" if p else "-" for k in ("p50", "p95", "p99", "max")))  # fmt: skip
            sustained = ""
        missed = r["_missed"]["n"]
        if missed or not r["complete"] or set(r["statuses"]) != {200}:
            ok = False
            console.print(
                f"[red]{r['rate']:g}/s: {missed} PII messages not deleted, all settled: "
                f"{r['complete']}, HTTP statuses {r['statuses']}[/]"
            )
    console.print(table)
    for r in results:
        console.print(
            f"{r['rate']:g}/s: {sum(r['counts'].values())} events ({r['counts']}), "
            f"delivered at {r['achieved']:.0f}/s, all settled at {r['settled_rate']:.0f}/s; "
            f"PII visible for p50 {r['chat.delete'].get('p50', 0):.2f} s, "
            f"p99 {r['chat.delete'].get('p99', 0):.2f} s"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
