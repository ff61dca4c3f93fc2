"""What an operator scrapes and probes: a worker's /healthz, /readyz and /metrics."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

from piiq.canary import Canary
from piiq.ports import free_port
from piiq.queue import Client


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
