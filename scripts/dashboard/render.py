"""docs/images/dashboard.png: the piiq dashboard (charts/piiq/dashboards/piiq.json) drawn
from a real Prometheus that scraped real piiq processes through a demo-like run.

    make dashboard-image    (scripts/dashboard/render.sh builds Prometheus once, then runs this)

Everything listens on 127.0.0.1 and stops by itself after about five minutes:

- PostgreSQL: ``PIIQ_DATABASE_URL``, else the embedded server ``make demo`` uses; a fresh
  schema ``piiq_dashboard``;
- the Slack sandbox, ``piiq ingress`` and ``piiq worker`` as ``make demo`` starts them, with
  their metrics ports on; ``piiq operator`` against the tests' Kubernetes API emulator,
  reconciling one PIIQueue every 2 s;
- Prometheus, scraping each process every 2 s;
- people posting in the sandbox (clean chat, card numbers, SSNs, phone numbers, e-mail
  addresses, Slack's retries, a forged signature now and then) while, on a timeline, the
  worker is killed with SIGKILL and started again, then stopped for 25 s (a backlog), Slack
  answers 429 to 30 chat.delete calls, the jobs table is locked for 6 s (the ingress answers 503)
  and the PIIQueue is made invalid for 50 s (Degraded).

Then each panel's expressions are asked of Prometheus over the run (``query_range``), the
figures printed, and the panels drawn with matplotlib where the dashboard places them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "charts/piiq/dashboards/piiq.json"
PREFIX = "piiq_dashboard"
SCRAPE_S = 2
RATE_INTERVAL = "20s"  # what Grafana would pick for $__rate_interval, smoothed for a short run
CHANNEL = "C0GENERAL"
PIIQUEUE_IMAGE = "registry.test/piiq"  # what the tests' piiqueue() runs: never pulled here
MESSAGES = [  # (author, text): mostly chat, some personal data, as a channel has it
    ("U0ALICE", "morning all! standup moved to 10:30"),
    ("U0BOB", "my card is 4556 7375 8689 9855, exp 04/28 - can you book the offsite?"),
    ("U0CAROL", "lunch at the usual place?"),
    ("U0ALICE", "the release notes are in the wiki"),
    ("U0CAROL", "for the HR form my SSN is 536-22-1474"),
    ("U0BOB", "reach me at 212 736 4512 after lunch"),
    ("U0ALICE", "pushed the fix, CI is green"),
    ("U0CAROL", "client email: maria.gonzalez@acme-corp.com"),
    ("U0BOB", "who has the projector remote?"),
    ("U0ALICE", "retro notes: ship smaller, review sooner"),
]


@dataclass
class Ports:
    ingress: int
    ingress_metrics: int
    worker_metrics: int
    operator_metrics: int
    prometheus: int


# --- the run --------------------------------------------------------------------------------


def database_url() -> str:
    from piiq.queue import devdb

    return os.environ.get("PIIQ_DATABASE_URL") or devdb.embedded_server_url()


def fresh_schema(url: str) -> None:
    import psycopg
    from psycopg import sql

    from piiq.queue import migrate_up
    from piiq.slack.tables import create_slack_tables

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(PREFIX)))
        migrate_up(conn, PREFIX)
        create_slack_tables(conn, PREFIX)


class Piiq:
    """`piiq ingress`, `piiq worker` and `piiq operator` as child processes, logs to files."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], **env: str) -> None:
        log = (self.logs / f"{name}.log").open("a")
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", "piiq", *args],
            env={**self.env, **env},
            stdout=log,
            stderr=log,
        )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.running.pop(name)
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def wait_http(url: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {within:g} s")


@contextlib.contextmanager
def prometheus(binary: Path, ports: Ports, tmp: Path) -> Iterator[str]:
    def target(port: int, component: str, namespace: str = "demo") -> dict[str, Any]:
        labels = {"component": component, "namespace": namespace}
        if component != "operator":
            labels["piiqueue"] = "demo"
        return {"targets": [f"127.0.0.1:{port}"], "labels": labels}

    config = {
        "global": {"scrape_interval": f"{SCRAPE_S}s", "scrape_timeout": f"{SCRAPE_S - 1}s"},
        "scrape_configs": [
            {
                "job_name": "piiq",
                "static_configs": [
                    target(ports.ingress_metrics, "ingress"),
                    target(ports.worker_metrics, "worker"),
                    target(ports.operator_metrics, "operator", "piiq"),
                ],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    log = (tmp / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            str(binary),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{ports.prometheus}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{ports.prometheus}"
    try:
        wait_http(f"{url}/-/ready", 30)
        yield url
    finally:
        process.terminate()
        process.wait(30)


class Traffic:
    """People posting in the sandbox, delivered as signed Events API requests, until stopped."""

    def __init__(self, slack: Any, events_url: str, per_second: float) -> None:
        self.slack, self.events_url, self.interval = slack, events_url, 1 / per_second
        self.statuses: Counter[int] = Counter()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(8)
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def _deliver(self, envelope: dict[str, Any], retry: int | None = None) -> None:
        status, _ = self.slack.deliver(self.events_url, envelope, retry_num=retry)
        with self._lock:
            self.statuses[status] += 1

    def _forged(self, envelope: dict[str, Any]) -> None:
        body = json.dumps(envelope).encode()
        headers = self.slack.signed_headers(body) | {"X-Slack-Signature": "v0=" + "0" * 64}
        request = urllib.request.Request(self.events_url, body, headers, method="POST")
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10).close()

    def _run(self) -> None:
        for n in itertools.count():
            if self.stopped.wait(self.interval):
                return
            user, text = MESSAGES[n % len(MESSAGES)]
            envelope = self.slack.post_message(CHANNEL, user, text)
            self._pool.submit(self._deliver, envelope)
            if n % 9 == 4:  # Slack did not get our 200 in time and delivers again
                self._pool.submit(self._deliver, envelope, 1)
            if n % 23 == 11:
                self._pool.submit(self._forged, envelope)


def lock_jobs_table(url: str, seconds: float) -> None:
    """Hold an EXCLUSIVE lock on oban_jobs: inserts wait, the ingress answers 503 in time."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f"LOCK TABLE {PREFIX}.oban_jobs IN EXCLUSIVE MODE")
        time.sleep(seconds)


@contextlib.asynccontextmanager
async def operator_cluster(url: str, tmp: Path) -> AsyncIterator[Any]:
    """The tests' Kubernetes API emulator with the CRD, the Secrets and one PIIQueue; yields
    the tests' ``Cluster`` (its ``kubeconfig`` is for ``piiq operator``)."""
    import kmock

    from tests.operator.operator_helpers import CRD_PATH, Cluster, piiqueue
    from tests.support.k8s_emulator import RealisticEmulator, write_kubeconfig

    async with RealisticEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        emulator.add_crd(CRD_PATH)
        emulator.ready_deployments = True  # the emulator rolls Deployments out: Ready
        cluster = Cluster(emulator, write_kubeconfig(tmp / "kubeconfig", str(server.url)))
        await cluster.secrets(url)
        await cluster.create(piiqueue("demo", queues={"events": 4, "pii_detection": 2}))
        yield cluster


async def run(binary: Path, seconds: float, tmp: Path) -> tuple[list[dict[str, Any]], float]:
    """The run; returns each panel with its series, and the run's length in seconds."""
    from piiq import sandbox as sb
    from piiq.runtime.ports import free_port

    url = database_url()
    fresh_schema(url)
    ports = Ports(*(free_port() for _ in range(5)))
    async with operator_cluster(url, tmp) as cluster:
        with sb.SlackSandbox() as slack, prometheus(binary, ports, tmp) as prom:
            env = dict(
                os.environ,
                PIIQ_DATABASE_URL=url,
                PIIQ_QUEUE_PREFIX=PREFIX,
                PIIQ_SLACK_API_URL=slack.base_url,
                PIIQ_SLACK_BOT_TOKEN=sb.BOT_TOKEN,
                PIIQ_SLACK_ADMIN_TOKEN=sb.ADMIN_TOKEN,
                PIIQ_SLACK_SIGNING_SECRET=sb.SIGNING_SECRET,
                PIIQ_LOG_FORMAT="json",
                KUBECONFIG=str(cluster.kubeconfig),
                PYTHONUNBUFFERED="1",
            )
            piiq = Piiq(env, tmp)
            worker = ["worker", "--queue", "events=4", "--queue", "pii_detection=2"]
            worker_env = {"PIIQ_METRICS_PORT": str(ports.worker_metrics)}
            piiq.start(
                "ingress",
                ["ingress", "--host", "127.0.0.1", "--port", str(ports.ingress)],
                PIIQ_METRICS_PORT=str(ports.ingress_metrics),
            )
            piiq.start("worker", worker, **worker_env)
            piiq.start(
                "operator",
                [
                    *("operator", "--standalone", "--liveness", "off", "--interval", "2"),
                    *("--metrics-port", str(ports.operator_metrics)),
                    *("--allowed-image-repository", PIIQUEUE_IMAGE),
                ],
            )
            try:
                wait_http(f"http://127.0.0.1:{ports.ingress}/readyz", 60)
                wait_http(f"http://127.0.0.1:{ports.worker_metrics}/readyz", 120)
                started = time.time()
                events_url = f"http://127.0.0.1:{ports.ingress}/slack/events"

                async def at(offset: float) -> None:
                    await asyncio.sleep(max(0.0, started + offset * seconds / 240 - time.time()))

                with Traffic(slack, events_url, per_second=4) as traffic:
                    await at(40)
                    print("t+40 s: the worker is killed (SIGKILL) and started again")
                    piiq.stop("worker", signal.SIGKILL)
                    piiq.start("worker", worker, **worker_env)
                    await at(100)
                    print("t+100 s: the worker stops for 25 s; the PIIQueue turns invalid")
                    piiq.stop("worker")
                    await cluster.patch("demo", {"spec": {"concurrencyPerPod": 0}})
                    await at(125)
                    piiq.start("worker", worker, **worker_env)
                    await at(150)
                    print("t+150 s: the PIIQueue is fixed")
                    await cluster.patch("demo", {"spec": {"concurrencyPerPod": 8}})
                    await at(170)
                    print("t+170 s: Slack answers 429 to the next 30 chat.delete calls")
                    slack.rate_limit("chat.delete", times=30, retry_after=2)
                    await at(200)
                    print("t+200 s: the jobs table is locked for 6 s")
                    await asyncio.to_thread(lock_jobs_table, url, 6)
                    await at(240)
                print(f"deliveries by HTTP status: {dict(sorted(traffic.statuses.items()))}")
                await asyncio.sleep(15)  # the backlog drains, the last scrapes land
                start, end = started - 20, time.time()
                print_alerts(await asyncio.to_thread(alert_conditions, prom, start, end))
                return await asyncio.to_thread(collect, prom, start, end), end - start
            finally:
                piiq.stop_all()


# --- the picture ----------------------------------------------------------------------------


def promql(expr: str, rate_interval: str) -> str:
    """A dashboard target as Grafana sends it: its variables filled in ("All")."""
    expr = expr.replace("$__rate_interval", rate_interval)
    return re.sub(r"\$(namespace|piiqueue)\b", ".*", expr)


def query_range(prom: str, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": SCRAPE_S})
    with urllib.request.urlopen(f"{prom}/api/v1/query_range?{query}", timeout=30) as response:
        answer = json.load(response)
    if answer["status"] != "success":
        raise SystemExit(f"Prometheus refused {expr!r}: {answer}")
    return list(answer["data"]["result"])


def legend(fmt: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def gaps_broken(points: list[list[Any]], start: float) -> tuple[list[float], list[float]]:
    """Seconds since ``start`` and values, with a NaN where no scrape answered (a process
    was down): drawn as a gap, as Grafana does, not as a line across it."""
    times: list[float] = []
    values: list[float] = []
    for t, v in points:
        if times and float(t) - start - times[-1] > 2.5 * SCRAPE_S:
            times.append(times[-1] + SCRAPE_S)
            values.append(float("nan"))
        times.append(float(t) - start)
        values.append(float(v))
    return times, values


def collect(prom: str, start: float, end: float) -> list[dict[str, Any]]:
    """Each panel of the dashboard with its series: (legend, times, values)."""
    panels = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        series = []
        for target in panel.get("targets", []):
            for result in query_range(prom, promql(target["expr"], RATE_INTERVAL), start, end):
                times, values = gaps_broken(result["values"], start)
                series.append((legend(target["legendFormat"], result["metric"]), times, values))
        panels.append({**panel, "series": sorted(series)})
    return panels


def alert_conditions(prom: str, start: float, end: float) -> dict[str, list[float]]:
    """Each alert of the chart's PrometheusRule (rendered by the Helm engine, defaults):
    the seconds into the run at which its expression held (``for`` not applied)."""
    from tests.support.helm_chart import by_kind, render

    (rule,) = by_kind(
        render({"monitoring": {"prometheusRule": {"enabled": True}}}), "PrometheusRule"
    )
    held = {}
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            results = query_range(prom, item["expr"], start, end)
            held[item["alert"]] = sorted(
                {float(t) - start for r in results for t, _ in r["values"]}
            )
    return held


def print_alerts(held: dict[str, list[float]]) -> None:
    print("\nAlert conditions over the run (before their `for`):")
    for alert, times in held.items():
        when = f"held {len(times) * SCRAPE_S} s, from t={times[0]:.0f} s" if times else "never held"
        print(f"  {alert}: {when}")


def print_figures(panels: list[dict[str, Any]]) -> None:
    for panel in panels:
        if panel["type"] == "row":
            print(f"\n{panel['title']}")
            continue
        unit = panel["fieldConfig"]["defaults"]["unit"]
        finite = [
            (name, max((v for v in values if v == v and v != float("inf")), default=0.0))
            for name, _, values in panel["series"]
        ]
        shown = ", ".join(f"{name or '-'} {peak:.3g}" for name, peak in finite) or "no data"
        print(f"  {panel['title']} (peak, {unit}): {shown}")


def draw(panels: list[dict[str, Any]], out: Path, duration: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(18, rows * 0.3), facecolor="#111217")
    grid = fig.add_gridspec(
        rows, 24, hspace=0.0, wspace=0.0, left=0.01, right=0.99, top=0.95, bottom=0.04
    )
    fig.suptitle(
        f"piiq: a {duration / 60:.0f}-minute demo-like run, as Prometheus scraped it",
        color="#d8d9da",
        fontsize=14,
        y=0.995,
    )
    for panel in panels:
        pos = panel["gridPos"]
        if panel["type"] == "row":
            ax = fig.add_subplot(grid[pos["y"], :])
            ax.axis("off")
            ax.text(0, 0.2, panel["title"], color="#d8d9da", fontsize=12, weight="bold")
            continue
        cell = grid[pos["y"] + 1 : pos["y"] + pos["h"] - 1, pos["x"] + 1 : pos["x"] + pos["w"]]
        ax = fig.add_subplot(cell, facecolor="#181b1f")
        unit = panel["fieldConfig"]["defaults"]["unit"]
        suffix = {"s": " (s)", "ops": " (/s)", "reqps": " (req/s)"}.get(unit, "")
        ax.set_title(panel["title"] + suffix, color="#d8d9da", fontsize=9, loc="left")
        for name, times, values in panel["series"]:
            ax.plot(times, values, linewidth=1.2, label=name or "value")
        if not panel["series"]:
            ax.text(0.5, 0.5, "no data", color="#8e8e8e", ha="center", transform=ax.transAxes)
        ax.set_xlim(0, duration)
        ax.set_ylim(bottom=0)
        ax.tick_params(colors="#8e8e8e", labelsize=7)
        ax.grid(color="#2c3235", linewidth=0.5)
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
        if panel["series"]:
            ax.legend(
                fontsize=6.5,
                loc="upper left",
                ncol=3,
                frameon=False,
                labelcolor="#d8d9da",
                handlelength=1.2,
            )
    fig.text(0.5, 0.003, "seconds into the run", color="#8e8e8e", ha="center", fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=fig.get_facecolor())
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", type=Path, required=True, help="the prometheus binary")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/images/dashboard.png")
    parser.add_argument("--seconds", type=float, default=240, help="length of the traffic")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="piiq-dashboard-") as tmp:
        try:
            panels, duration = asyncio.run(run(args.prometheus, args.seconds, Path(tmp)))
        finally:
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                for log in Path(tmp).glob("*.log"):
                    (args.logs / log.name).write_bytes(log.read_bytes())
    print_figures(panels)
    draw(panels, args.out, duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
