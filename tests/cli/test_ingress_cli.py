"""`piiq ingress` as a deployment runs it: a process, its probes, a signed event, SIGTERM."""

from __future__ import annotations

import subprocess
import urllib.request

from piiq import sandbox as sb
from piiq.queue import Client
from tests.support.piiq_cli import ingress_process


def test_ingress_without_a_way_to_receive_events_says_what_to_set(
    piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    env = {k: v for k, v in subprocess_env.items() if not k.startswith("PIIQ_SLACK")}
    result = subprocess.run(
        [*piiq_command, "ingress"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "PIIQ_SLACK_SIGNING_SECRET" in result.stderr and "--socket-mode" in result.stderr
    result = subprocess.run(
        [*piiq_command, "ingress", "--socket-mode"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "--socket-mode needs PIIQ_SLACK_APP_TOKEN" in result.stderr


def test_ingress_process_serves_probes_enqueues_and_stops_on_sigterm(
    queue_client: Client, piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    env = subprocess_env | {"PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET}
    with ingress_process(piiq_command, env) as ingress:
        with urllib.request.urlopen(ingress.url + "/readyz", timeout=1) as response:
            assert response.status == 200
        slack = sb.SlackSandbox()  # not started: it signs and delivers like Slack
        envelope = slack.post_message("C1", "U0ALICE", "hello")
        assert slack.deliver(ingress.url + "/slack/events", envelope)[0] == 200
        with queue_client.connect() as conn:
            (count,) = conn.execute(
                f'SELECT count(*) FROM "{queue_client.prefix}".oban_jobs'
            ).fetchone()
        assert count == 1
    assert ingress.process.returncode == 0
    assert '"event": "event enqueued"' in ingress.output and "hello" not in ingress.output
