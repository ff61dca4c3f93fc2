"""Ingress load: signed Events API requests per second and their ack latency.

    .venv/bin/python bench/ingress_load.py [--events 4000] [--duplicates 0.1] [--concurrency 32]
                                           [--args-keys]

Starts a real `piiq ingress` process on 127.0.0.1 against a fresh schema and sends it
--events signed message events from --concurrency connections; --duplicates of them are
Slack-style retried deliveries (same event_id, X-Slack-Retry-Num). Prints events/s and
the p50/p99 time to the 200 (Slack wants it within 3 s), then checks that the jobs table
holds exactly one job per unique event. --args-keys gives the ingress a PIIQ_ARGS_KEYS
key, so each message's content is encrypted before its insert.

The peer, measured in the same run with the same load: an aiohttp endpoint that verifies
the signature and answers 200 without storing anything (the ceiling for one process; what
the figures add over it is the cost of not losing events).

The server: PIIQ_BENCH_DATABASE_URL, else PIIQ_TEST_DATABASE_URL, else an embedded one.
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
import time
from pathlib import Path

import aiohttp
import psycopg
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "worker"))
from benchdb import bench_database_url  # noqa: E402

from piiq import sandbox as sb  # noqa: E402
from piiq.queue import devdb  # noqa: E402
from piiq.runtime.argscrypt import generate  # noqa: E402
from piiq.runtime.ports import free_port  # noqa: E402
from piiq.slack.tables import create_slack_tables  # noqa: E402

PEER = """
import sys
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

verifier = SignatureVerifier(sys.argv[2])

async def events(request):
    raw = await request.read()
    if not verifier.is_valid_request(raw, dict(request.headers)):
        return web.Response(status=401)
    return web.Response(status=200)

async def ready(request):
    return web.Response(text="ok")

app = web.Application()
app.router.add_post("/slack/events", events)
app.router.add_get("/readyz", ready)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def make_requests(count: int, duplicates: float) -> tuple[list[tuple[bytes, dict]], int]:
    """Signed requests (body, headers); about ``duplicates`` of them are retries."""
    slack = sb.SlackSandbox()  # not started: used to build and sign events
    requests: list[tuple[bytes, dict]] = []
    unique = 0
    while len(requests) < count:
        if requests and random.random() < duplicates:
            body, headers = random.choice(requests)
            requests.append((body, headers | {"X-Slack-Retry-Num": "1"}))
            continue
        text = random.choice(["lunch?", "card 4556 7375 8689 9855", "see the doc", "ok!"])
        envelope = slack.post_message("C0LOAD", "U0ALICE", text)
        body = json.dumps(envelope).encode()
        requests.append((body, slack.signed_headers(body)))
        unique += 1
    return requests, unique


async def send_all(url: str, requests: list[tuple[bytes, dict]], concurrency: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, dict]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": len(requests) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max": latencies[-1] * 1000,
        "statuses": statuses,
    }


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {timeout} s")


def run_server(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--args-keys", action="store_true", help="encrypt message content")
    args = parser.parse_args()
    console = Console()
    server = bench_database_url()
    prefix = devdb.create_schema(server)
    with psycopg.connect(server, autocommit=True) as conn:
        create_slack_tables(conn, prefix)
    requests, unique = make_requests(args.events, args.duplicates)
    console.print(
        f"{len(requests)} signed events ({unique} unique, {len(requests) - unique} retried "
        f"deliveries), {args.concurrency} connections, 127.0.0.1 only"
    )
    results = {}
    try:
        for label in ("piiq ingress", "verify-only peer (stores nothing)"):
            port = free_port()
            env = dict(
                os.environ,
                PIIQ_DATABASE_URL=server,
                PIIQ_QUEUE_PREFIX=prefix,
                PIIQ_SLACK_SIGNING_SECRET=sb.SIGNING_SECRET,
                PIIQ_LOG_LEVEL="warning",
            )
            if label == "piiq ingress" and args.args_keys:
                env["PIIQ_ARGS_KEYS"] = generate("bench")
            if label == "piiq ingress":
                command = [sys.executable, "-m", "piiq", "ingress", "--host", "127.0.0.1"]
                command += ["--port", str(port)]
            else:
                command = [sys.executable, "-c", PEER, str(port), sb.SIGNING_SECRET]
            process = run_server(command, env, port)
            try:
                url = f"http://127.0.0.1:{port}/slack/events"
                asyncio.run(send_all(url, requests[:200], args.concurrency))  # warm up
                results[label] = asyncio.run(send_all(url, requests, args.concurrency))
            finally:
                process.terminate()
                process.wait(20)
        with psycopg.connect(server) as conn:
            jobs = conn.execute(f'SELECT count(*) FROM "{prefix}".oban_jobs').fetchone()[0]
            sealed_jobs = conn.execute(
                f"SELECT count(*) FROM \"{prefix}\".oban_jobs WHERE args ? 'sealed'"
            ).fetchone()[0]
    finally:
        devdb.drop_schema(server, prefix)
    sealed = ", message content encrypted (PIIQ_ARGS_KEYS)" if args.args_keys else ""
    table = Table(title=f"ingress: signed events in, acks out{sealed}")
    for column in ("server", "events/s", "ack p50 ms", "ack p99 ms", "max ms", "HTTP statuses"):
        table.add_column(column)
    for label, r in results.items():
        table.add_row(
            label,
            f"{r['rate']:,.0f}",
            f"{r['p50']:.1f}",
            f"{r['p99']:.1f}",
            f"{r['max']:.1f}",
            json.dumps(r["statuses"]),
        )
    console.print(table)
    piiq, peer = results["piiq ingress"], results["verify-only peer (stores nothing)"]
    console.print(
        f"piiq ingress: {piiq['rate'] / peer['rate']:.2f}x the verify-only peer's rate; "
        f"p99 ack {piiq['p99']:.1f} ms (Slack's limit: 3000 ms)"
    )
    exact = jobs == unique and piiq["statuses"] == {200: len(requests)}
    console.print(
        f"jobs created: {jobs} for {unique} unique events "
        f"({'exactly one each' if exact else 'MISMATCH'})"
    )
    if args.args_keys:
        console.print(f"jobs holding only ciphertext: {sealed_jobs} of {jobs}")
        exact = exact and sealed_jobs == jobs
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
