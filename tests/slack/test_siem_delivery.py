"""Audit rows out to a SIEM, end to end over HTTP on 127.0.0.1: rows written with their
delivery jobs in one transaction, the real AuditDeliveryWorker POSTing them to receivers
that check the HMAC signature and the HEC token (tests/support/siem_receivers.py), the
real queue retrying while the SIEM is down (connection refused, 503) and keeping dead
letters that `piiq audit replay` sends again. ``drain_queue(with_scheduled=True)`` runs
the retries at once instead of after their backoff."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from piiq import sandbox as sb
from piiq.queue import Client, JobError, MaintenanceOptions, Testing
from piiq.runtime.settings import Settings
from piiq.slack import audit
from piiq.slack.siem import deadletters, signing
from piiq.slack.siem.events import FIELDS, event_of
from piiq.slack.siem.outbox import AUDIT_QUEUE, DELIVERY_WORKER, record_and_queue
from piiq.slack.siem.sinks import SinkConfigError, WebhookSink, configured_sinks
from tests.support.pii_samples import CARD, NEVER_LOGGED
from tests.support.piiq_cli import run_piiq
from tests.support.queue_helpers import running, wait_for
from tests.support.siem_receivers import HEC_TOKEN, WEBHOOK_SECRET, HecReceiver, WebhookReceiver

from .conftest import CHANNEL

MAX_ATTEMPTS = 3


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver  # type: ignore[misc]


@pytest.fixture
def hec() -> Iterator[HecReceiver]:
    with HecReceiver() as receiver:
        yield receiver  # type: ignore[misc]


@pytest.fixture
def siem_env(
    webhook: WebhookReceiver, hec: HecReceiver, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "PIIQ_AUDIT_WEBHOOK_URL": f"{webhook.url}/piiq/audit",
        "PIIQ_AUDIT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PIIQ_AUDIT_SPLUNK_HEC_URL": hec.url,
        "PIIQ_AUDIT_SPLUNK_HEC_TOKEN": HEC_TOKEN,
        "PIIQ_AUDIT_SPLUNK_INDEX": "security",
        "PIIQ_AUDIT_DELIVERY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "PIIQ_AUDIT_DELIVERY_TIMEOUT": "5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def entry(n: int) -> audit.AuditEntry:
    return audit.AuditEntry(
        job_id=1000 + n,
        team="T0ACME",
        channel="C0GENERAL",
        ts=f"1700000000.{n:06d}",
        user_id="U0ALICE",
        subject="message",
        decision="delete",
        entities={"CREDIT_CARD": 1, "EMAIL_ADDRESS": n},
        action="deleted",
        outcome="deleted; author notified",
    )


def write_rows(client: Client, count: int) -> list[int]:
    written = [record_and_queue(client, entry(n), Settings()) for n in range(count)]
    return [w.id for w in written if w is not None]


def db_events(client: Client) -> list[dict]:
    with client.connection() as conn:
        return [event_of(row) for row in reversed(audit.recent(conn, client.prefix, limit=1000))]


def deliveries(client: Client) -> list[dict]:
    with client.connection() as conn:
        rows = conn.execute(
            f'SELECT id, state, args, attempt, errors FROM "{client.prefix}".oban_jobs '
            "WHERE worker = %s ORDER BY id",
            (DELIVERY_WORKER,),
        ).fetchall()
    return [dict(zip(("id", "state", "args", "attempt", "errors"), r, strict=True)) for r in rows]


def drain(testing: Testing) -> dict[str, int]:
    return testing.drain_queue(AUDIT_QUEUE, with_scheduled=True)


def test_rows_go_out_as_written_in_order_signed_and_enveloped(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec
) -> None:
    ids = write_rows(slack_client, 5)
    jobs = deliveries(slack_client)
    # One job per row and sink, queued with the row; args name the row and the sink only.
    assert sorted((j["args"]["audit_id"], j["args"]["sink"]) for j in jobs) == sorted(
        (i, s) for i in ids for s in ("webhook", "splunk")
    )
    assert all(set(j["args"]) == {"audit_id", "sink"} for j in jobs)
    assert drain(queue_testing)["completed"] == 10
    expected = db_events(slack_client)
    assert [e["id"] for e in expected] == ids
    assert webhook.events == expected  # in id order, each once, exactly the row's columns
    assert hec.events == expected
    assert all(set(e) == set(FIELDS) for e in webhook.events)
    assert webhook.refused == hec.refused == []
    first = hec.envelopes[0]
    assert (first["source"], first["sourcetype"], first["index"]) == (
        "piiq",
        "piiq:audit",
        "security",
    )
    recorded = datetime.fromisoformat(expected[0]["recorded_at"].replace("Z", "+00:00"))
    assert first["time"] == pytest.approx(recorded.timestamp(), abs=1e-6)
    assert first["host"]


def test_siem_down_then_up_loses_nothing(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec, log_lines
) -> None:
    mark = len(log_lines.lines)
    webhook.down()  # connection refused
    hec.fail(503)  # the indexer is busy
    ids = write_rows(slack_client, 4)
    for _ in range(MAX_ATTEMPTS - 1):  # every attempt but the last fails
        assert drain(queue_testing)["retryable"] == 8
    assert webhook.events == hec.events == []
    assert {j["state"] for j in deliveries(slack_client)} == {"retryable"}
    webhook.up()
    hec.heal()
    assert drain(queue_testing)["completed"] == 8
    expected = db_events(slack_client)
    assert sorted(webhook.events, key=lambda e: e["id"]) == expected
    assert sorted(hec.events, key=lambda e: e["id"]) == expected
    assert [e["id"] for e in expected] == ids
    errors = [e["error"] for j in deliveries(slack_client) for e in j["errors"]]
    assert any("cannot connect to the sink" in e for e in errors)
    assert any("the splunk sink answered HTTP 503" in e for e in errors)
    logged = log_lines.since(mark)
    assert any(line["event"] == "audit delivery failed, will retry" for line in logged)
    text = "\n".join(log_lines.lines[mark:]) + json.dumps(deliveries(slack_client), default=str)
    assert WEBHOOK_SECRET not in text and HEC_TOKEN not in text


def test_dead_letter_after_the_last_attempt_then_replay_delivers(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec, subprocess_env
) -> None:
    hec.fail(500)
    (audit_id,) = write_rows(slack_client, 1)
    for _ in range(MAX_ATTEMPTS - 1):
        drain(queue_testing)
    assert drain(queue_testing) == {
        "completed": 0,
        "retryable": 0,
        "discarded": 1,
        "cancelled": 0,
        "snoozed": 0,
    }
    assert [e["id"] for e in webhook.events] == [audit_id]  # the webhook took it at once
    (letter,) = _dead_letters(slack_client)
    assert (letter.audit_id, letter.sink, letter.attempts) == (audit_id, "splunk", MAX_ATTEMPTS)
    assert letter.error == "the splunk sink answered HTTP 500"

    env = subprocess_env | siem_env
    shown = run_piiq("audit", "dead-letters", "--json", **env)
    assert shown.returncode == 0, shown.stderr
    (listed,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert (listed["audit_id"], listed["sink"]) == (audit_id, "splunk")

    hec.heal()
    replayed = run_piiq("audit", "replay", **env)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "queued 1 audit deliveries again (splunk: 1)"
    assert _dead_letters(slack_client) == []
    assert drain(queue_testing)["completed"] == 1
    assert hec.events == db_events(slack_client)


def audit_worker(piiq_command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`piiq worker` serving the audit queue alone, heartbeating often."""
    return subprocess.Popen(
        [*piiq_command, "worker", "--queue", f"{AUDIT_QUEUE}=1", "--heartbeat-interval", "0.3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_delivery_killed_in_its_last_attempt_stays_a_dead_letter(
    slack_client: Client,
    siem_env: dict,
    webhook,
    subprocess_env: dict,
    piiq_command: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed (an OOM kill, SIGKILL) while its delivery's last attempt waits on
    the sink: rescue discards the job (no attempts left), and the event is still a dead
    letter that `piiq audit replay` sends, never only a discarded job the pruner removes."""
    monkeypatch.delenv("PIIQ_AUDIT_SPLUNK_HEC_URL")
    monkeypatch.setenv("PIIQ_AUDIT_DELIVERY_MAX_ATTEMPTS", "1")
    env = {**subprocess_env, **siem_env, "PIIQ_AUDIT_DELIVERY_MAX_ATTEMPTS": "1"}
    env.pop("PIIQ_AUDIT_SPLUNK_HEC_URL")
    (audit_id,) = write_rows(slack_client, 1)
    webhook.hang()
    worker = audit_worker(piiq_command, env)
    try:
        await wait_for(lambda: webhook.requests >= 1, within=60)  # the last attempt is out
    finally:
        worker.kill()
        worker.wait(timeout=30)
    fast_rescue = MaintenanceOptions(prune_max_age=None, rescue_after=None, heartbeat_timeout=2)
    async with running(slack_client, {"idle": 1}, maintenance=fast_rescue):
        await wait_for(lambda: deliveries(slack_client)[0]["state"] == "discarded", within=30)
    (letter,) = _dead_letters(slack_client)
    assert (letter.audit_id, letter.sink) == (audit_id, "webhook")

    webhook.heal()
    replayed = run_piiq("audit", "replay", **env)
    assert replayed.returncode == 0, replayed.stderr
    async with running(slack_client, {AUDIT_QUEUE: 1}):
        await asyncio.to_thread(webhook.wait_for_events, 1, 30)
    assert [e["id"] for e in webhook.events] == [audit_id]
    assert _dead_letters(slack_client) == []


def test_429_waits_for_retry_after_without_using_an_attempt(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec, monkeypatch
) -> None:
    monkeypatch.delenv("PIIQ_AUDIT_SPLUNK_HEC_URL")
    webhook.fail(429, times=1, retry_after="120")
    write_rows(slack_client, 1)
    assert queue_testing.drain_queue(AUDIT_QUEUE)["snoozed"] == 1
    with slack_client.connection() as conn:
        state, attempt, max_attempts, wait = conn.execute(
            f"SELECT state, attempt, max_attempts, extract(epoch FROM scheduled_at - now() "
            f"AT TIME ZONE 'UTC') FROM \"{slack_client.prefix}\".oban_jobs WHERE worker = %s",
            (DELIVERY_WORKER,),
        ).fetchone()
    assert state == "scheduled" and 100 < wait <= 120
    assert max_attempts - attempt == MAX_ATTEMPTS  # the attempt was given back
    assert drain(queue_testing)["completed"] == 1
    assert len(webhook.events) == 1


def test_a_sink_that_stalls_times_out_and_is_retried(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec, monkeypatch
) -> None:
    monkeypatch.setenv("PIIQ_AUDIT_DELIVERY_TIMEOUT", "0.3")
    monkeypatch.delenv("PIIQ_AUDIT_SPLUNK_HEC_URL")
    webhook.hang()
    write_rows(slack_client, 1)
    assert drain(queue_testing)["retryable"] == 1
    (job,) = deliveries(slack_client)
    assert "the sink did not answer in time" in job["errors"][-1]["error"]
    webhook.heal()
    assert drain(queue_testing)["completed"] == 1
    assert len(webhook.events) == 1


def test_a_rewritten_row_goes_out_again_and_an_unchanged_one_does_not(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec, monkeypatch
) -> None:
    """A retry that got further rewrites the row (a new delivery of its new state); an
    attempt that lost its lease leaves the row, and queues nothing."""
    monkeypatch.delenv("PIIQ_AUDIT_SPLUNK_HEC_URL")
    first = entry(1)
    record_and_queue(slack_client, dataclasses.replace(first, outcome="unfinished"), Settings())
    drain(queue_testing)
    record_and_queue(slack_client, first, Settings())
    assert record_and_queue(slack_client, first, Settings(), replace=False) is None
    drain(queue_testing)
    assert [(e["id"], e["outcome"]) for e in webhook.events] == [
        (webhook.events[0]["id"], "unfinished"),
        (webhook.events[0]["id"], "deleted; author notified"),
    ]
    assert len(deliveries(slack_client)) == 2


def test_a_wrong_secret_or_token_is_refused_and_retried_not_lost(
    slack_client: Client, queue_testing: Testing, siem_env: dict, webhook, hec, monkeypatch
) -> None:
    monkeypatch.setenv("PIIQ_AUDIT_WEBHOOK_SECRET", "not-the-receivers-secret")
    monkeypatch.setenv("PIIQ_AUDIT_SPLUNK_HEC_TOKEN", "not-the-token")
    write_rows(slack_client, 1)
    assert drain(queue_testing)["retryable"] == 2
    assert sorted(webhook.refused + hec.refused) == ["Invalid token", "bad signature"]
    monkeypatch.setenv("PIIQ_AUDIT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("PIIQ_AUDIT_SPLUNK_HEC_TOKEN", HEC_TOKEN)
    assert drain(queue_testing)["completed"] == 2
    assert len(webhook.events) == len(hec.events) == 1


def test_a_row_written_while_no_sink_is_set_queues_nothing(
    slack_client: Client, queue_testing: Testing
) -> None:
    write_rows(slack_client, 2)
    assert deliveries(slack_client) == []


def test_the_row_and_its_deliveries_commit_together(slack_client: Client, siem_env: dict) -> None:
    """A failing job insert rolls the row back too: never a row that is not sent."""
    refused = Settings().model_copy(update={"audit_delivery_max_attempts": 0})
    with pytest.raises(JobError):  # the delivery job is refused after the row's INSERT
        record_and_queue(slack_client, entry(1), refused)
    assert db_events(slack_client) == [] and deliveries(slack_client) == []


def _dead_letters(client: Client) -> list[deadletters.DeadLetter]:
    with client.connection() as conn:
        return deadletters.dead_letters(conn, client.prefix)


def test_signature_recipe_refuses_replays_and_edits() -> None:
    body = json.dumps({"events": [{"id": 1}]}).encode()
    request = WebhookSink("http://127.0.0.1:9/x", WEBHOOK_SECRET).request([{"id": 1}], now=1000)
    ts, sig = request.headers["X-Piiq-Timestamp"], request.headers["X-Piiq-Signature"]
    assert signing.verify(WEBHOOK_SECRET, ts, sig, request.body, now=1100)
    assert not signing.verify(WEBHOOK_SECRET, ts, sig, request.body, now=1000 + 301)  # replay
    assert not signing.verify(WEBHOOK_SECRET, ts, sig, body.replace(b"1", b"2"), now=1000)
    assert not signing.verify("other", ts, sig, request.body, now=1000)
    assert not signing.verify(WEBHOOK_SECRET, "1001", sig, request.body, now=1000)


def test_sinks_never_show_their_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIIQ_AUDIT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("PIIQ_AUDIT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("PIIQ_AUDIT_SPLUNK_HEC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PIIQ_AUDIT_SPLUNK_HEC_TOKEN", HEC_TOKEN)
    sinks = configured_sinks(Settings())
    shown = repr(sinks) + repr(Settings()) + str(Settings().model_dump())
    assert WEBHOOK_SECRET not in shown and HEC_TOKEN not in shown
    assert sinks["splunk"].request([]).url == "http://127.0.0.1:9/services/collector/event"


def test_a_sink_without_its_secret_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIIQ_AUDIT_SPLUNK_HEC_URL", "https://splunk.example:8088")
    with pytest.raises(SinkConfigError) as refused:
        configured_sinks(Settings())
    assert str(refused.value) == (
        "the audit splunk sink has PIIQ_AUDIT_SPLUNK_HEC_URL but no PIIQ_AUDIT_SPLUNK_HEC_TOKEN: "
        "set it (from a Secret), or unset PIIQ_AUDIT_SPLUNK_HEC_URL"
    )


async def test_a_detection_in_slack_reaches_the_siem_without_its_value(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    siem_env: dict,
    webhook: WebhookReceiver,
    hec: HecReceiver,
) -> None:
    """The whole way with a real Runner: a card number posted in Slack -> the ingress -> the
    message worker deletes it and writes the audit row -> the audit queue's worker sends it
    to both sinks. What they get names the type found, never the number."""
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"my card is {CARD}")
    status, _ = await asyncio.to_thread(slack.deliver, f"{ingress_url}/slack/events", envelope)
    assert status == 200
    async with running(slack_client, {"events": 1, AUDIT_QUEUE: 1}):
        await asyncio.to_thread(webhook.wait_for_events, 1)
        await asyncio.to_thread(hec.wait_for_events, 1)
    (event,) = webhook.events
    assert hec.events == [event] and event == db_events(slack_client)[0]
    assert (event["decision"], event["action"], event["entities"]) == (
        "delete",
        "deleted",
        {"CREDIT_CARD": 1},
    )
    bodies = b"".join(webhook.bodies + hec.bodies).decode()
    assert [value for value in NEVER_LOGGED if value in bodies] == []
    assert CARD.replace(" ", "")[-4:] not in bodies


def test_the_documented_receiver_check_accepts_piiq_and_refuses_tampering() -> None:
    """docs/audit.md's Python recipe, run as written, against what the webhook sink sends."""
    docs = (Path(__file__).parents[2] / "docs" / "audit.md").read_text()
    (recipe,) = [b for b in re.findall(r"```python\n(.*?)```", docs, re.S) if "def verify" in b]
    namespace: dict = {}
    exec(recipe, namespace)  # our own documentation
    verify = namespace["verify"]
    request = WebhookSink("http://127.0.0.1:9/x", WEBHOOK_SECRET).request([{"id": 7}])
    secret = WEBHOOK_SECRET.encode()
    assert verify(secret, request.headers, request.body)
    assert not verify(secret, request.headers, request.body.replace(b"7", b"8"))
    assert not verify(b"another-secret", request.headers, request.body)
    stale = WebhookSink("http://127.0.0.1:9/x", WEBHOOK_SECRET).request([{"id": 7}], now=1000)
    assert not verify(secret, stale.headers, stale.body)
