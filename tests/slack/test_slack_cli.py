"""The Slack processes as a deployment runs them: what `piiq worker` and `piiq ingress` say
at start about the bot token and PIIQ_ARGS_KEYS, and `piiq keys generate`."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from piiq import sandbox as sb
from piiq.runtime.argscrypt import ArgsKeys
from piiq.runtime.ports import free_port

KEY = "k1:" + "A" * 43 + "="  # 32 zero bytes in base64


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def without_slack(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith(("PIIQ_SLACK", "PIIQ_ARGS"))}


def test_a_slack_worker_without_the_bot_token_refuses_to_start(
    piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    for queues in (["--queue", "events=1"], ["--queue", "other=1", "--queue", "pii_detection=2"]):
        result = run([*piiq_command, "worker", *queues], without_slack(subprocess_env))
        assert result.returncode == 1, result.stdout + result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: the Slack queues (")
        assert "need PIIQ_SLACK_BOT_TOKEN, which is not set" in line and "rejected" not in line
    empty = without_slack(subprocess_env) | {"PIIQ_SLACK_BOT_TOKEN": " "}
    result = run([*piiq_command, "worker", "--queue", "events=1"], empty)
    assert result.returncode == 1 and "PIIQ_SLACK_BOT_TOKEN" in result.stderr


@pytest.mark.parametrize("command", [["worker", "--queue", "events=1"], ["ingress"]])
def test_oauth_without_token_keys_stops_the_process_in_one_line(
    piiq_command: list[str], subprocess_env: dict[str, str], command: list[str]
) -> None:
    """OAuth replaces the bot token, but not without keys to encrypt the tokens it stores."""
    env = without_slack(subprocess_env) | {
        "PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET,
        "PIIQ_SLACK_CLIENT_ID": sb.CLIENT_ID,
        "PIIQ_SLACK_CLIENT_SECRET": sb.CLIENT_SECRET,
    }
    result = run([*piiq_command, *command], env)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: PIIQ_SLACK_CLIENT_ID is set but neither PIIQ_SLACK_TOKEN_KEYS")
    assert sb.CLIENT_SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["worker", "--queue", "events=1"], ["ingress"]])
def test_unreadable_args_keys_stop_the_process_in_one_line_without_the_key(
    piiq_command: list[str], subprocess_env: dict[str, str], command: list[str]
) -> None:
    env = subprocess_env | {
        "PIIQ_SLACK_BOT_TOKEN": sb.BOT_TOKEN,
        "PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET,
        "PIIQ_ARGS_KEYS": f"{KEY},k2:c2VjcmV0LWJ1dC1zaG9ydA==",
    }
    result = run([*piiq_command, *command], env)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "Error: PIIQ_ARGS_KEYS: the key of 'k2' is not 32 bytes in base64 (AES-256); make "
        "one with `piiq keys generate`"
    )
    assert "c2VjcmV0" not in result.stdout + result.stderr


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def first_line_with(process: subprocess.Popen[str], event: str, within: float = 30) -> dict:
    """The first JSON log line of ``process`` whose event is ``event``."""
    deadline = time.monotonic() + within
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        entry = json.loads(line)
        if entry.get("event") == event:
            return entry
    raise AssertionError(f"no {event!r} line from {process.args}")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    return rest


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (None, {"args_encryption": "off"}),
        (f"{KEY},old:{'B' * 43}=", {"args_encryption": "aes-256-gcm", "key_ids": ["k1", "old"]}),
    ],
)
def test_worker_and_ingress_say_once_at_start_whether_args_are_encrypted(
    piiq_command: list[str],
    subprocess_env: dict[str, str],
    started: list[subprocess.Popen[str]],
    keys: str | None,
    expected: dict,
) -> None:
    env = without_slack(subprocess_env) | {
        "PIIQ_SLACK_BOT_TOKEN": sb.BOT_TOKEN,
        "PIIQ_SLACK_SIGNING_SECRET": sb.SIGNING_SECRET,
    }
    if keys:
        env["PIIQ_ARGS_KEYS"] = keys
    commands = [  # and the line that says it serves, after which SIGTERM stops it cleanly
        (["worker", "--queue", "events=1", "--poll-interval", "0.2s"], "worker.started"),
        (["ingress", "--host", "127.0.0.1", "--port", str(free_port())], "ingress listening"),
    ]
    for command, serving in commands:
        process = subprocess.Popen(
            [*piiq_command, *command], env=env, stdout=subprocess.PIPE, text=True
        )
        started.append(process)
        entry = first_line_with(process, "job args")
        assert expected.items() <= entry.items(), entry
        if not keys:
            assert "PIIQ_ARGS_KEYS is not set" in entry["why"]
        first_line_with(process, serving)
        rest = stop(process)
        assert "job args" not in rest  # once
        assert "A" * 43 not in rest and "B" * 43 not in json.dumps(entry)


def test_keys_generate_prints_an_entry_the_setting_reads(
    piiq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    first = run([*piiq_command, "keys", "generate"], subprocess_env)
    second = run([*piiq_command, "keys", "generate", "--id", "2027-01"], subprocess_env)
    assert first.returncode == second.returncode == 0
    keys = ArgsKeys.parse(f"{second.stdout.strip()},{first.stdout.strip()}")
    assert keys.current == "2027-01" and len(keys.ids) == 2
    bad = run([*piiq_command, "keys", "generate", "--id", "a:b"], subprocess_env)
    assert bad.returncode == 2 and "no colon" in bad.stderr
