"""End to end through real HTTP: a signed event -> the ingress -> a job -> a worker ->
Slack API calls in the sandbox (delete, DM) -> an audit row. Workers run in a real Runner
against the real PostgreSQL; the Slack clients are slack_sdk's, over HTTP."""

from __future__ import annotations

import asyncio
import hmac
import json

import pytest
from prometheus_client import REGISTRY

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.queue.inspection import queue_counts
from piiq.slack import audit
from piiq.slack.jobs import MESSAGE_WORKER
from tests.support.log_capture import without_clock
from tests.support.pii_samples import CARD, PHONE, SSN
from tests.support.queue_helpers import running, wait_for

from .conftest import CHANNEL


async def send(slack: sb.SlackSandbox, ingress_url: str, envelope: dict, **kw) -> int:
    status, _ = await asyncio.to_thread(
        slack.deliver, f"{ingress_url}/slack/events", envelope, **kw
    )
    return status


def jobs(client: Client) -> list[dict]:
    with client.connect() as conn:
        rows = conn.execute(
            f'SELECT id, worker, queue, state, args, meta, errors FROM "{client.prefix}".oban_jobs ORDER BY id'
        ).fetchall()
    keys = ("id", "worker", "queue", "state", "args", "meta", "errors")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def settled(client: Client) -> bool:
    with client.connect() as conn:
        counts = queue_counts(conn, client.prefix)
    busy = ("available", "executing", "scheduled", "retryable")
    return bool(counts) and all(c[s] == 0 for c in counts.values() for s in busy)


def audit_rows(client: Client) -> list[dict]:
    with client.connect() as conn:
        return audit.recent(conn, client.prefix)


QUEUES = {"events": 2, "pii_detection": 1}


async def run_workers(client: Client, within: float = 30) -> None:
    """A worker (events and pii_detection) until every job is final."""
    async with running(client, QUEUES):
        await wait_for(lambda: settled(client), within=within)


async def post_card(slack: sb.SlackSandbox, ingress_url: str) -> dict:
    """Alice posts a card number; Slack delivers the event to the ingress."""
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD}")
    assert await send(slack, ingress_url, envelope) == 200
    return envelope


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


COUNTERS = [
    ("piiq_ingress_requests_total", {"outcome": "enqueued"}),
    ("piiq_slack_api_calls_total", {"method": "chat.delete", "outcome": "ok"}),
    ("piiq_decisions_total", {"action": "delete", "entity_type": "CREDIT_CARD"}),
    ("piiq_jobs_total", {"queue": "events", "worker": MESSAGE_WORKER, "outcome": "completed"}),
]


async def test_card_number_is_deleted_and_the_author_gets_a_redacted_copy(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    before = [sample(name, **labels) for name, labels in COUNTERS]
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"my card is {CARD}, can you book it?")
    ts = envelope["event"]["ts"]
    assert await send(slack, ingress_url, envelope) == 200
    await run_workers(slack_client)
    assert not slack.message_exists(CHANNEL, ts)
    (delete,) = slack.calls_to("chat.delete")
    assert delete.token == "admin" and delete.args == {"channel": CHANNEL, "ts": ts}
    (dm,) = slack.direct_messages("U0ALICE")
    assert "I removed your message" in dm["text"] and "payment card number" in dm["text"]
    assert "my card is <CREDIT_CARD>, can you book it?" in dm["text"] and "4556" not in dm["text"]
    (row,) = audit_rows(slack_client)
    assert (row["decision"], row["action"], row["entities"]) == (
        "delete",
        "deleted",
        {"CREDIT_CARD": 1},
    )
    assert row["outcome"] == "deleted; author notified" and row["user_id"] == "U0ALICE"
    (job,) = jobs(slack_client)
    assert job["state"] == "completed"
    assert job["args"]["text"] == "scrubbed"  # no text kept once done
    after = [sample(name, **labels) for name, labels in COUNTERS]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]


async def test_thread_reply_with_ssn_clean_chat_and_a_warning(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    parent = slack.post_message(CHANNEL, "U0BOB", "lunch at noon?")
    reply = slack.post_message(
        CHANNEL, "U0CAROL", f"my SSN is {SSN} for the form", thread_ts=parent["event"]["ts"]
    )
    named = slack.post_message(CHANNEL, "U0BOB", f"lunch at 1? {PHONE} otherwise")
    for envelope in (parent, reply, named):
        assert await send(slack, ingress_url, envelope) == 200
    await run_workers(slack_client)
    assert slack.message_exists(CHANNEL, parent["event"]["ts"])  # clean chat stays
    assert not slack.message_exists(CHANNEL, reply["event"]["ts"])
    assert slack.message_exists(CHANNEL, named["event"]["ts"])  # a bare phone number warns
    assert "<US_SSN>" in slack.direct_messages("U0CAROL")[0]["text"]
    (warning,) = slack.direct_messages("U0BOB")
    assert warning["text"].startswith("Heads-up") and "4512" not in warning["text"]
    decisions = sorted((r["user_id"], r["decision"], r["action"]) for r in audit_rows(slack_client))
    assert decisions == [("U0BOB", "warn", "notified"), ("U0CAROL", "delete", "deleted")]


async def test_an_edit_adding_pii_is_scanned_and_an_unchanged_edit_is_not(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    first = slack.post_message(CHANNEL, "U0ALICE", "the number is coming")
    ts = first["event"]["ts"]
    edited = slack.edit_message(CHANNEL, ts, f"the number is {CARD}")
    unfurl = slack.envelope(
        {**edited["event"], "previous_message": edited["event"]["message"]}  # same content
    )
    for envelope in (first, edited, unfurl):
        assert await send(slack, ingress_url, envelope) == 200
    assert [j["args"]["edited"] for j in jobs(slack_client)] == [False, True]
    await run_workers(slack_client)
    assert not slack.message_exists(CHANNEL, ts)
    assert "your edited message" in slack.direct_messages("U0ALICE")[0]["text"]


async def test_files_with_pii_are_deleted_by_the_file_worker(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    from tests.support.documents import pdf

    text_file = slack.add_file("contacts.txt", f"Card: {CARD}\n".encode())
    pdf = slack.add_file("form.pdf", pdf([f"SSN {SSN}"]), "application/pdf")
    clean = slack.add_file("notes.txt", b"agenda: roadmap, hiring, offsite\n")
    envelope = slack.post_message(
        CHANNEL, "U0ALICE", "files for you", files=[text_file, pdf, clean]
    )
    assert await send(slack, ingress_url, envelope) == 200
    await run_workers(slack_client, within=60)
    files = slack.workspace.files
    assert text_file["id"] not in files and pdf["id"] not in files and clean["id"] in files
    assert {c.args["file"] for c in slack.calls_to("files.delete")} == {text_file["id"], pdf["id"]}
    assert all(c.token == "admin" for c in slack.calls_to("files.delete"))
    dms = [m["text"] for m in slack.direct_messages("U0ALICE")]
    assert len(dms) == 2 and any("form.pdf" in t and "Social Security" in t for t in dms)
    assert slack.message_exists(CHANNEL, envelope["event"]["ts"])  # its text was clean
    file_jobs = [j for j in jobs(slack_client) if j["queue"] == "pii_detection"]
    assert len(file_jobs) == 3 and all(j["state"] == "completed" for j in file_jobs)


async def test_forged_and_stale_requests_enqueue_nothing(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    import time
    import urllib.request

    envelope = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD}")
    body = json.dumps(envelope).encode()
    forged = slack.signed_headers(body) | {"X-Slack-Signature": "v0=" + "0" * 64}
    stale = slack.signed_headers(body, timestamp=int(time.time()) - 301)
    unsigned = {"Content-Type": "application/json"}
    tampered_headers = slack.signed_headers(body)
    tampered = body.replace(b"card", b"CARD")

    def post(data: bytes, headers: dict) -> int:
        request = urllib.request.Request(
            f"{ingress_url}/slack/events", data=data, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    garbage_stamp = slack.signed_headers(body) | {"X-Slack-Request-Timestamp": "soon"}
    latin1 = '{"x": "caf\u00e9"}'.encode("latin-1")  # signed, but not UTF-8
    stamp = str(int(time.time()))
    mac = hmac.new(sb.SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + latin1, "sha256")
    latin1_headers = unsigned | {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + mac.hexdigest(),
    }
    for data, headers in [
        (body, forged),
        (body, stale),
        (body, unsigned),
        (tampered, tampered_headers),
        (body, garbage_stamp),
        (latin1, latin1_headers),
    ]:
        assert await asyncio.to_thread(post, data, headers) == 401
    assert jobs(slack_client) == []
    garbage = b"{not json"
    assert await asyncio.to_thread(post, garbage, slack.signed_headers(garbage)) == 400
    too_big = b" " * (1024 * 1024 + 1)
    assert await asyncio.to_thread(post, too_big, slack.signed_headers(too_big)) == 413
    assert jobs(slack_client) == []


async def test_url_verification_and_probes(ingress_url: str, slack: sb.SlackSandbox) -> None:
    import urllib.request

    challenge = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    status, body = await asyncio.to_thread(slack.deliver, f"{ingress_url}/slack/events", challenge)
    assert status == 200 and json.loads(body) == {"challenge": challenge["challenge"]}
    for path in ("/healthz", "/readyz"):
        with await asyncio.to_thread(urllib.request.urlopen, ingress_url + path, None, 5) as r:
            assert r.status == 200


async def test_retried_deliveries_make_one_job(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    envelope = slack.post_message(CHANNEL, "U0ALICE", "hello team")
    for retry in (None, 1, 2):
        assert await send(slack, ingress_url, envelope, retry_num=retry) == 200
    noise = slack.envelope(
        {
            "type": "message",
            "subtype": "channel_join",
            "channel": CHANNEL,
            "user": "U0BOB",
            "ts": "1.1",
        }
    )
    bot = slack.envelope(
        {"type": "message", "channel": CHANNEL, "bot_id": sb.BOT_ID, "text": CARD, "ts": "1.2"}
    )
    for envelope in (noise, bot):
        assert await send(slack, ingress_url, envelope) == 200
    assert len(jobs(slack_client)) == 1


async def test_concurrent_deliveries_to_two_replicas_make_one_job_per_event(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, second_ingress_url: str
) -> None:
    envelopes = [slack.post_message(CHANNEL, "U0BOB", f"note {i}") for i in range(5)]
    sends = [
        send(slack, url, envelope, retry_num=retry)
        for envelope in envelopes
        for url in (ingress_url, second_ingress_url)
        for retry in (None, 1, 2)
    ]
    assert set(await asyncio.gather(*sends)) == {200}
    stored = jobs(slack_client)
    assert sorted(j["args"]["event_id"] for j in stored) == sorted(e["event_id"] for e in envelopes)


async def test_rate_limit_snoozes_then_completes_and_dms_once(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    slack.rate_limit("conversations.open", times=1, retry_after=1)
    await post_card(slack, ingress_url)
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed" and job["meta"]["snoozed"] == 1
    assert len(slack.calls_to("chat.delete")) == 1  # done before the 429, not repeated
    assert len(slack.direct_messages("U0ALICE")) == 1


async def test_a_failure_after_the_dm_retries_without_a_second_dm(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIIQ_SLACK_ADMIN_TOKEN", "")
    monkeypatch.setenv("PIIQ_ADMIN_CHANNEL", "C0SECURITY")
    # The DM goes out; the admin alert (the next postMessage) hits a Slack outage.
    slack.fail("chat.postMessage", "internal_error", status=500, after=1)
    envelope = await post_card(slack, ingress_url)
    from piiq.slack.workers import SlackMessageWorker

    monkeypatch.setattr(SlackMessageWorker, "backoff", lambda self, job: 0.2)
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed" and len(job["errors"]) == 1
    assert "internal_error" in job["errors"][0]["error"]
    (dm,) = slack.direct_messages("U0ALICE")
    assert "could not remove it" in dm["text"]
    alerts = [
        c for c in slack.calls_to("chat.postMessage", ok=True) if c.args["channel"] == "C0SECURITY"
    ]
    assert len(alerts) == 1 and CARD not in alerts[0].args["text"]
    assert slack.message_exists(CHANNEL, envelope["event"]["ts"])
    (row,) = audit_rows(slack_client)
    assert row["outcome"].startswith("not deleted: no admin token")


async def test_cant_delete_falls_back_to_the_dm(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    slack.fail("chat.delete", "cant_delete_message")
    await post_card(slack, ingress_url)
    await run_workers(slack_client)
    assert "could not remove it" in slack.direct_messages("U0ALICE")[0]["text"]
    (row,) = audit_rows(slack_client)
    assert row["action"] == "notified" and "cant_delete_message" in row["outcome"]


async def test_a_revoked_admin_token_falls_back_to_the_dm(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    slack.revoke(sb.ADMIN_TOKEN)
    envelope = await post_card(slack, ingress_url)
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed"
    assert slack.message_exists(CHANNEL, envelope["event"]["ts"])
    assert "could not remove it" in slack.direct_messages("U0ALICE")[0]["text"]
    (row,) = audit_rows(slack_client)
    assert row["outcome"].startswith("not deleted: admin token rejected (token_revoked)")


async def test_a_revoked_bot_token_discards_with_a_clear_error(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    slack.revoke(sb.BOT_TOKEN)
    await post_card(slack, ingress_url)
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "discarded" and len(job["errors"]) == 1
    error = job["errors"][0]["error"]
    assert "conversations.open failed: token_revoked" in error and "PIIQ_SLACK_BOT_TOKEN" in error
    assert CARD not in error
    (row,) = audit_rows(slack_client)  # the deletion happened: it is on record
    assert row["outcome"] == "deleted; unfinished: the job retries"


async def test_a_private_channel_the_admin_cannot_see_is_not_counted_as_deleted(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIIQ_ADMIN_CHANNEL", "C0SECURITY")
    slack.fail("chat.delete", "channel_not_found")  # what a user token gets there
    envelope = await post_card(slack, ingress_url)
    await run_workers(slack_client)
    assert slack.message_exists(CHANNEL, envelope["event"]["ts"])
    assert "could not remove it" in slack.direct_messages("U0ALICE")[0]["text"]
    (row,) = audit_rows(slack_client)
    assert row["outcome"] == "not deleted: channel_not_found; author notified; admins alerted"


async def test_an_edit_does_not_scan_the_same_files_again(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    shared = slack.add_file("contacts.txt", f"Card: {CARD}\n".encode())
    envelope = slack.post_message(CHANNEL, "U0ALICE", "see file", files=[shared])
    edited = slack.edit_message(CHANNEL, envelope["event"]["ts"], "see the file")
    for each in (envelope, edited):
        assert await send(slack, ingress_url, each) == 200
    await run_workers(slack_client)
    assert [j["queue"] for j in jobs(slack_client)].count("pii_detection") == 1
    assert len(slack.direct_messages("U0ALICE")) == 1


async def test_nul_characters_anywhere_still_make_a_job(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    envelope = slack.post_message(CHANNEL, "U0ALICE", "a\x00b")
    envelope["event"]["attachments"] = [{"title": "x\x00y", "text": "z"}]
    assert await send(slack, ingress_url, envelope) == 200
    (job,) = jobs(slack_client)
    assert job["args"]["text"] == "ab" and job["args"]["attachments"] == [
        {"title": "xy", "text": "z"}
    ]


async def test_dry_run_reports_only(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIIQ_DRY_RUN", "true")
    envelope = await post_card(slack, ingress_url)
    await run_workers(slack_client)
    assert slack.message_exists(CHANNEL, envelope["event"]["ts"])
    assert slack.call_counts() == {}
    (row,) = audit_rows(slack_client)
    assert (row["decision"], row["action"]) == ("delete", "reported")


async def test_no_token_in_jobs_and_no_text_in_logs(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, log_lines
) -> None:
    mark = len(log_lines.lines)
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD} and SSN {SSN}, thanks")
    assert await send(slack, ingress_url, envelope) == 200
    with slack_client.connect() as conn:
        (live,) = conn.execute(
            f'SELECT args::text, meta::text FROM "{slack_client.prefix}".oban_jobs'
        ).fetchall()
    assert "xox" not in live[0] + live[1] and SSN in live[0]  # the text rides in the job...
    await run_workers(slack_client)
    with slack_client.connect() as conn:
        (done,) = conn.execute(
            f'SELECT args::text FROM "{slack_client.prefix}".oban_jobs'
        ).fetchone()
    assert SSN not in done and "thanks" not in done  # ...and is scrubbed once finished
    lines = log_lines.since(mark)
    (decision,) = [line for line in lines if line["event"] == "decision"]
    assert decision["entities"] == {"CREDIT_CARD": 1, "US_SSN": 1}
    written = without_clock("\n".join(log_lines.lines[mark:]))
    for secret in ("4556 7375", "8689", SSN, "thanks", sb.BOT_TOKEN, sb.ADMIN_TOKEN):
        assert secret not in written


async def test_database_down_answers_503_fast_so_slack_retries(slack: sb.SlackSandbox) -> None:
    import time
    import urllib.request

    from .conftest import serve_ingress_on

    down = Client("postgresql://postgres@127.0.0.1:9/none", pool_timeout=2.0)  # as deployed
    async for url in serve_ingress_on(down):
        envelopes = [slack.post_message(CHANNEL, "U0ALICE", f"hello {i}") for i in range(12)]

        def timed_send(events_url: str, envelope: dict) -> tuple[int, float]:
            started = time.monotonic()
            status, _ = slack.deliver(events_url, envelope)
            return status, time.monotonic() - started

        events_url = f"{url}/slack/events"
        answers = await asyncio.gather(
            *(asyncio.to_thread(timed_send, events_url, e) for e in envelopes)
        )
        assert {status for status, _ in answers} == {503}
        assert max(seconds for _, seconds in answers) < 3  # each within Slack's 3 s
        try:
            await asyncio.to_thread(urllib.request.urlopen, url + "/readyz", None, 5)
            raise AssertionError("readyz should fail")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503


async def test_a_message_already_gone_counts_as_deleted(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    envelope = await post_card(slack, ingress_url)
    del slack.workspace.messages[(CHANNEL, envelope["event"]["ts"])]  # the author was faster
    await run_workers(slack_client)
    (call,) = slack.calls_to("chat.delete")
    assert call.error == "message_not_found"
    (job,) = jobs(slack_client)
    assert job["state"] == "completed" and job["errors"] == []
    (row,) = audit_rows(slack_client)
    assert row["outcome"] == "already_gone; author notified"
