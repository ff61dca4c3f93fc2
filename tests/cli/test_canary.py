"""`piiq canary`: proves a queue is served, and says so plainly when it is not."""

from __future__ import annotations

import subprocess

from piiq.commands.canary import send_canary
from piiq.queue import Client


def run_canary(piiq_command: list[str], env: dict[str, str], *args: str):
    return subprocess.run(
        [*piiq_command, "canary", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_canary_completes_when_a_worker_serves_the_queue(
    queue_client: Client, piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    worker = subprocess.Popen(
        [*piiq_command, "worker", "--queue", "probe=1", "--poll-interval", "0.2s"],
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        done = run_canary(piiq_command, subprocess_env, "--queue", "probe", "--timeout", "30s")
    finally:
        worker.terminate()
        worker.wait(20)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed on queue 'probe'" in done.stdout


def test_canary_fails_with_advice_when_nobody_serves_the_queue(
    queue_client: Client, piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    result = run_canary(piiq_command, subprocess_env, "--queue", "nobody", "--timeout", "1s")
    assert result.returncode == 1
    assert "still available after 1s" in result.stdout
    assert "piiq worker --queue nobody=N" in result.stdout


def test_an_inline_clients_canary_has_completed_when_inserted() -> None:
    """Oban's inline testing runs the job at insert: there is no row to wait for."""
    with Client(testing="inline") as client:
        ok, message = send_canary(client, "probe", timeout=5)
    assert ok, message
    assert "completed on queue 'probe'" in message
