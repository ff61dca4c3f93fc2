"""What an operator scrapes and probes: a worker's /healthz, /readyz and /metrics."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import psycopg
from prometheus_client import CollectorRegistry, generate_latest

from piiq.commands.canary import Canary
from piiq.queue import Client
from piiq.queue.inspection import oldest_available
from piiq.runtime.metrics import QueueDepthCollector, QueueTable
from piiq.runtime.ports import free_port


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_until(check, within: float = 20.0):
    deadline = time.monotonic() + within
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_worker_serves_probes_and_metrics(
    queue_client: Client, piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    port = free_port()
    env = subprocess_env | {"PIIQ_METRICS_PORT": str(port)}
    worker = subprocess.Popen([*piiq_command, "worker", "--queue", "default=2"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(base + "/readyz")[0] == 200)
        assert get(base + "/healthz") == (200, "ok")
        queue_client.insert(Canary.new())
        queue_client.insert(Canary.new(queue="nobody_serves_this"))

        def scraped() -> str | None:
            _, text = get(base + "/metrics")
            done = 'piiq_jobs_total{outcome="completed",queue="default",worker="piiq.canary.Canary"} 1.0'
            return text if done in text else None

        text = wait_until(scraped)
        assert 'piiq_queue_jobs{queue="nobody_serves_this",state="available"} 1.0' in text
        assert 'piiq_queue_oldest_available_seconds{queue="nobody_serves_this"}' in text
        assert "piiq_job_duration_seconds_bucket" in text and "piiq_fetch_duration_seconds" in text
        assert 'piiq_queue_paused{queue="default"} 0.0' in text
        assert 'piiq_queue_limit{queue="default"} 2.0' in text
        pause = [*piiq_command, "queues", "pause", "default"]
        subprocess.run(pause, env=subprocess_env, check=True, timeout=30)
        wait_until(lambda: 'piiq_queue_paused{queue="default"} 1.0' in get(base + "/metrics")[1])
    finally:
        worker.terminate()
        worker.wait(20)
    assert worker.returncode == 0


def scrape(collector: QueueDepthCollector) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_queue_depth_collector_exports_counts_and_the_oldest_available_age() -> None:
    table = QueueTable(
        counts={"events": {"available": 3, "executing": 1}, "idle": {"available": 0}},
        oldest_available_s={"events": 42.5},
    )
    text = scrape(QueueDepthCollector(lambda: table))
    assert 'piiq_queue_jobs{queue="events",state="available"} 3.0' in text
    assert 'piiq_queue_oldest_available_seconds{queue="events"} 42.5' in text
    assert 'piiq_queue_oldest_available_seconds{queue="idle"} 0.0' in text  # none waits

    def unreachable() -> QueueTable:
        raise psycopg.OperationalError("connection refused")

    text = scrape(QueueDepthCollector(unreachable))
    assert "piiq_queue_oldest_available_seconds{" not in text  # no figure, not a stale one
    assert "piiq_queue_jobs{" not in text


def test_oldest_available_is_how_long_the_first_runnable_job_waited(queue_client: Client) -> None:
    waiting = queue_client.insert(Canary.new(queue="stuck"))
    queue_client.insert(Canary.new(queue="stuck"))
    queue_client.insert(Canary.new(queue="later", schedule_in=3600))  # scheduled, not waiting
    with queue_client.connect(autocommit=True) as conn:
        conn.execute(
            f'UPDATE "{queue_client.prefix}".oban_jobs '
            "SET scheduled_at = scheduled_at - interval '10 minutes' WHERE id = %s",
            (waiting.id,),
        )
        ages = oldest_available(conn, queue_client.prefix)
    assert set(ages) == {"stuck"} and 600 <= ages["stuck"] < 660, ages


def test_a_taken_metrics_port_is_a_clear_error(
    piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = subprocess_env | {"PIIQ_METRICS_PORT": str(port)}
        result = subprocess.run(
            [*piiq_command, "worker", "--queue", "default=1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode != 0
    assert f"cannot serve probes and metrics on port {port}" in result.stderr + result.stdout
    assert "PIIQ_METRICS_PORT" in result.stderr + result.stdout
