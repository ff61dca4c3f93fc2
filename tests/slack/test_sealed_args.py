"""PIIQ_ARGS_KEYS end to end: the ingress seals what a message says, the row holds only
ciphertext while the job waits, workers decrypt, scrub at the end; a job sealed with a key
the workers lack waits (snoozed, a loud log line) instead of being lost."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.runtime.settings import Settings
from piiq.slack import workers
from tests.support.pii_samples import CARD, SSN
from tests.support.queue_helpers import running, wait_for

from .conftest import CHANNEL, serve_ingress
from .test_flow import audit_rows, jobs, run_workers, send

K1 = "k1:" + base64.b64encode(bytes(range(32))).decode()
K2 = "k2:" + base64.b64encode(bytes(range(50, 82))).decode()


@pytest.fixture
async def sealing_ingress_url(
    slack_client: Client, slack_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """An ingress whose PIIQ_ARGS_KEYS is k2 then k1 (k2 seals); workers read the same env."""
    monkeypatch.setenv("PIIQ_ARGS_KEYS", f"{K2},{K1}")
    async for url in serve_ingress(slack_client, Settings()):
        yield url


def live_args_text(client: Client) -> list[str]:
    with client.connect() as conn:
        rows = conn.execute(f'SELECT args::text FROM "{client.prefix}".oban_jobs ORDER BY id')
        return [text for (text,) in rows.fetchall()]


async def test_the_row_holds_ciphertext_until_a_worker_decrypts_and_scrubs_it(
    slack: sb.SlackSandbox, sealing_ingress_url: str, slack_client: Client, log_lines
) -> None:
    mark = len(log_lines.lines)
    shared = slack.add_file("payroll-SSN.txt", f"SSN {SSN}\n".encode())
    text = f"card {CARD} and my SSN {SSN}, thanks"
    envelope = slack.post_message(CHANNEL, "U0ALICE", text, files=[shared])
    assert await send(slack, sealing_ingress_url, envelope) == 200
    (live,) = live_args_text(slack_client)
    for plain in (SSN, CARD, "thanks", "payroll-SSN"):
        assert plain not in live
    (job,) = jobs(slack_client)
    assert job["args"]["sealed"]["kid"] == "k2" and job["args"]["channel"] == CHANNEL
    assert "text" not in job["args"] and "files" not in job["args"]

    async with running(slack_client, {"events": 1}):  # the message only: its file job waits
        await wait_for(
            lambda: len(jobs(slack_client)) == 2 and jobs(slack_client)[0]["state"] == "completed"
        )
    file_job = jobs(slack_client)[1]
    assert file_job["state"] == "available" and file_job["args"]["sealed"]["kid"] == "k2"
    assert "payroll-SSN" not in live_args_text(slack_client)[1]

    await run_workers(slack_client)
    assert not slack.message_exists(CHANNEL, envelope["event"]["ts"])
    assert shared["id"] not in slack.workspace.files
    texts = [dm["text"] for dm in slack.direct_messages("U0ALICE")]
    assert len(texts) == 2 and any("<US_SSN>" in t and "thanks" in t for t in texts)
    assert sorted(row["subject"] for row in audit_rows(slack_client)) == [
        f"file {shared['id']}",
        "message",
    ]
    assert all(j["state"] == "completed" for j in jobs(slack_client))
    assert all(j["args"]["sealed"] == "scrubbed" for j in jobs(slack_client))
    written = "\n".join(log_lines.lines[mark:])
    assert K1.split(":")[1] not in written and K2.split(":")[1] not in written


async def test_a_job_sealed_with_a_key_the_worker_lacks_waits_for_it(
    slack: sb.SlackSandbox,
    sealing_ingress_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    log_lines,
) -> None:
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD}")
    assert await send(slack, sealing_ingress_url, envelope) == 200
    monkeypatch.setenv("PIIQ_ARGS_KEYS", K1)  # k2 was dropped from the workers too soon
    monkeypatch.setattr(workers, "UNREADABLE_SNOOZE_S", 0.2)
    mark = len(log_lines.lines)
    async with running(slack_client, {"events": 1}):
        await wait_for(lambda: jobs(slack_client)[0]["meta"].get("snoozed", 0) >= 2)
    (job,) = jobs(slack_client)
    assert job["state"] in ("scheduled", "available") and job["errors"] == []
    assert slack.call_counts() == {}  # nothing acted on
    (line, *_) = [e for e in log_lines.since(mark) if e.get("key_id") == "k2"]
    assert line["level"] == "error" and line["setting"] == "PIIQ_ARGS_KEYS"
    assert "'k2'" in line["error"] and "PIIQ_ARGS_KEYS does not hold" in line["error"]

    monkeypatch.setenv("PIIQ_ARGS_KEYS", f"{K1},{K2}")  # the key is back: the job runs
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed" and job["args"]["sealed"] == "scrubbed"
    assert not slack.message_exists(CHANNEL, envelope["event"]["ts"])
    assert len(slack.direct_messages("U0ALICE")) == 1
