"""Quarantine, admin review and the author's answer, end to end over HTTP: Slack (the
sandbox) delivers signed events and signed interactivity payloads (button clicks, a modal
submission) to a real ingress; real workers on PostgreSQL act through slack_sdk against
the sandbox. The policy quarantines card numbers; reviews need PIIQ_ARGS_KEYS."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.runtime.settings import Settings
from piiq.sandbox.delivery import post
from piiq.slack import review_blocks as rb
from piiq.slack.periodic import RETENTION_ENTRY, with_retention
from piiq.slack.siem.outbox import AUDIT_QUEUE
from tests.support.log_capture import without_clock
from tests.support.pii_samples import CARD
from tests.support.piiq_cli import run_piiq
from tests.support.queue_helpers import running, wait_for
from tests.support.siem_receivers import WEBHOOK_SECRET, WebhookReceiver

from .conftest import CHANNEL, serve_ingress
from .test_flow import QUEUES, audit_rows, jobs, send, settled

KEY = "k1:" + base64.b64encode(bytes(range(32))).decode()
ADMINS = "G0ADMINS"
OTHER_CARD = "5425 2334 3010 9903"
QUARANTINE_CARDS = "entities:\n  CREDIT_CARD: {quarantine: 0.5}\n"


@pytest.fixture
async def review_url(
    slack_client: Client,
    slack_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """An ingress (events and interactivity) and the workers' environment: keys, the
    admin channel, a policy that quarantines card numbers."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(QUARANTINE_CARDS)
    monkeypatch.setenv("PIIQ_ARGS_KEYS", KEY)
    monkeypatch.setenv("PIIQ_ADMIN_CHANNEL", ADMINS)
    monkeypatch.setenv("PIIQ_POLICY_FILE", str(policy))
    async for url in serve_ingress(slack_client, Settings()):
        yield url


def items(client: Client) -> list[dict]:
    with client.connect() as conn:
        cur = conn.execute(
            f'SELECT *, content::text AS content_text FROM "{client.prefix}".piiq_review_items '
            "ORDER BY id"
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def retention_over(client: Client) -> bool:
    with client.connect() as conn:
        row = conn.execute(
            f"SELECT bool_and(keep_until <= timezone('UTC', now())) FROM \"{client.prefix}\"."
            "piiq_review_items"
        ).fetchone()
    return bool(row and row[0])


def bot_messages(slack: sb.SlackSandbox, channel: str) -> list[dict]:
    return [m for m in slack.messages_in(channel) if m.get("bot_id")]


async def click(
    slack: sb.SlackSandbox, url: str, channel: str, ts: str, action: str, user: str, **shown
) -> None:
    status, _ = await asyncio.to_thread(
        slack.click, f"{url}/slack/interactions", channel, ts, action, user, **shown
    )
    assert status == 200


async def hold_a_card(slack: sb.SlackSandbox, url: str, client: Client, **where) -> dict:
    """Alice posts a card number; it is held. Returns the item."""
    envelope = slack.post_message(CHANNEL, "U0ALICE", f"my card is {CARD}, book it?", **where)
    assert await send(slack, url, envelope) == 200
    await wait_for(lambda: settled(client) and bool(items(client)), within=30)
    (item,) = items(client)
    return item


@pytest.fixture
async def held(slack: sb.SlackSandbox, review_url: str, slack_client: Client) -> dict:
    """Alice's card number, held for review (workers ran until it was)."""
    async with running(slack_client, QUEUES):
        return await hold_a_card(slack, review_url, slack_client)


async def test_quarantine_then_review_then_release(
    slack: sb.SlackSandbox, review_url: str, slack_client: Client
) -> None:
    parent = slack.post_message(CHANNEL, "U0BOB", "who books the offsite?")
    async with running(slack_client, QUEUES):
        item = await hold_a_card(slack, review_url, slack_client, thread_ts=parent["event"]["ts"])
        assert not slack.message_exists(CHANNEL, item["ts"])  # out of the channel
        assert item["state"] == "held" and item["team"] == sb.TEAM_ID
        assert CARD not in item["content_text"] and "4556" not in item["content_text"]
        assert item["content"]["kid"] == "k1"  # AES-GCM under PIIQ_ARGS_KEYS
        (tombstone,) = bot_messages(slack, CHANNEL)
        assert tombstone["text"] == rb.TOMBSTONE and tombstone["thread_ts"] == parent["event"]["ts"]
        (review,) = bot_messages(slack, ADMINS)
        shown = json.dumps(review["blocks"])
        assert "payment card number" in shown and "<@U0ALICE>" in shown and f"<#{CHANNEL}>" in shown
        assert "4556" not in without_clock(shown)
        buttons = [e.get("action_id") for b in review["blocks"] for e in b.get("elements", [])]
        assert {rb.RELEASE, rb.DELETE, rb.FALSE_POSITIVE} <= set(buttons)
        (dm,) = slack.direct_messages("U0ALICE")
        assert "held your message" in dm["text"]
        assert rb.NOT_PII in json.dumps(dm["blocks"]) and rb.REMOVED in json.dumps(dm["blocks"])

        await click(slack, review_url, ADMINS, review["ts"], rb.RELEASE, sb.ADMIN_USER_ID)
        await wait_for(
            lambda: items(slack_client)[0]["state"] == "released" and settled(slack_client)
        )

    (released,) = bot_messages(slack, CHANNEL)  # the tombstone gave way to the original
    assert released["text"] == f"my card is {CARD}, book it?"
    assert released["thread_ts"] == parent["event"]["ts"]
    assert "Originally posted by <@U0ALICE>" in json.dumps(released["blocks"])
    assert f"released after review by <@{sb.ADMIN_USER_ID}>" in json.dumps(released["blocks"])
    (updated,) = slack.calls_to("chat.update", ok=True)
    assert updated.args["ts"] == review["ts"] and "Released by" in updated.args["text"]
    assert rb.RELEASE not in json.dumps(bot_messages(slack, ADMINS)[0]["blocks"])  # no buttons
    (item,) = items(slack_client)
    assert item["content"] is None and item["decided_by"] == sb.ADMIN_USER_ID
    rows = {r["action"]: r for r in audit_rows(slack_client)}
    assert rows["held"]["decision"] == "quarantine"
    assert rows["released"]["outcome"].startswith(f"released by {sb.ADMIN_USER_ID}")
    assert all("4556" not in without_clock(json.dumps(r, default=str)) for r in rows.values())


async def test_every_review_decision_reaches_the_siem(
    slack: sb.SlackSandbox,
    review_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The held row and the admin's decision go out to the SIEM sinks like any audit row
    (each written with its delivery job in one transaction, docs/audit.md)."""
    with WebhookReceiver() as webhook:
        monkeypatch.setenv("PIIQ_AUDIT_WEBHOOK_URL", f"{webhook.url}/piiq/audit")
        monkeypatch.setenv("PIIQ_AUDIT_WEBHOOK_SECRET", WEBHOOK_SECRET)
        async with running(slack_client, {**QUEUES, AUDIT_QUEUE: 1}):
            await hold_a_card(slack, review_url, slack_client)
            (review,) = bot_messages(slack, ADMINS)
            await click(slack, review_url, ADMINS, review["ts"], rb.DELETE, sb.ADMIN_USER_ID)
            await wait_for(
                lambda: items(slack_client)[0]["state"] != "held" and settled(slack_client)
            )
        actions = {r["id"]: r["action"] for r in audit_rows(slack_client)}
        assert {"held", "deleted"} <= set(actions.values()), actions
        assert sorted(e["id"] for e in webhook.events) == sorted(actions)


async def test_quarantine_then_delete_and_a_second_click_changes_nothing(
    slack: sb.SlackSandbox, review_url: str, slack_client: Client, held: dict
) -> None:
    item = held
    (review,) = bot_messages(slack, ADMINS)
    async with running(slack_client, QUEUES):
        await click(slack, review_url, ADMINS, review["ts"], rb.DELETE, sb.ADMIN_USER_ID)
        await wait_for(lambda: len(jobs(slack_client)) == 2 and settled(slack_client))
        # Another admin's client still shows the buttons: Release comes too late.
        await click(slack, review_url, ADMINS, review["ts"], rb.RELEASE, "U0CAROL", shown=review)
        await wait_for(lambda: len(jobs(slack_client)) == 3 and settled(slack_client))
        (dm,) = slack.direct_messages("U0ALICE")
        await click(slack, review_url, dm["channel"], item["dm_ts"], rb.REMOVED, "U0ALICE")
        await wait_for(lambda: len(jobs(slack_client)) == 4 and settled(slack_client))

    (item,) = items(slack_client)
    assert (item["state"], item["decision"], item["content"]) == ("deleted", "deleted", None)
    (tombstone,) = bot_messages(slack, CHANNEL)  # nothing reposted
    assert "removed by an admin" in tombstone["text"]
    assert "Already decided: deleted" in bot_messages(slack, ADMINS)[0]["text"]
    actions = sorted(r["action"] for r in audit_rows(slack_client))
    assert actions == ["author_removed", "deleted", "held"]
    dm_now = next(m for m in slack.messages_in(dm["channel"]) if m["ts"] == item["dm_ts"])
    assert "You said you removed it" in json.dumps(dm_now["blocks"])


async def expire_at_the_top_of_the_hour(client: Client) -> None:
    """No --cron given: the crontab `piiq worker` builds for the events queue runs the
    retention job at the top of the hour (the runner's clock says it is one)."""
    crontab = with_retention(Settings(), [f"{q}={n}" for q, n in QUEUES.items()], ())
    top_of_hour = lambda: datetime(2026, 12, 5, 22, 0, 10)  # noqa: E731
    async with running(client, QUEUES, clock=top_of_hour, crontab=crontab):
        await wait_for(lambda: items(client)[0]["state"] == "expired" and settled(client))


async def test_retention_expiry_deletes_the_kept_copy(
    slack: sb.SlackSandbox,
    review_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIIQ_REVIEW_RETENTION_DAYS", str(1 / 86400))  # one second
    async with running(slack_client, QUEUES):
        item = await hold_a_card(slack, review_url, slack_client)
        assert item["content"] is not None
        await wait_for(lambda: retention_over(slack_client), within=5)
    await expire_at_the_top_of_the_hour(slack_client)
    (item,) = items(slack_client)
    assert item["content"] is None
    (review,) = bot_messages(slack, ADMINS)
    assert "Not reviewed within" in review["text"] and "kept copy" in review["text"]
    assert "expired" in {r["action"] for r in audit_rows(slack_client)}


async def test_false_positive_report_accepted_allow_lists_that_value_only(
    slack: sb.SlackSandbox,
    review_url: str,
    slack_client: Client,
    held: dict,
    subprocess_env: dict,
) -> None:
    interactions = f"{review_url}/slack/interactions"
    item = held
    (dm,) = slack.direct_messages("U0ALICE")
    async with running(slack_client, QUEUES):
        await click(slack, review_url, dm["channel"], item["dm_ts"], rb.NOT_PII, "U0ALICE")
        await wait_for(lambda: bool(slack.open_views("U0ALICE")))  # within the trigger's 3 s
        (modal,) = slack.open_views("U0ALICE")
        assert modal["callback_id"] == rb.NOT_PII_MODAL
        said = {rb.JUSTIFICATION_BLOCK: {rb.JUSTIFICATION_INPUT: "it is the test card of our shop"}}
        status, _ = await asyncio.to_thread(
            slack.submit_view, interactions, modal["id"], "U0ALICE", said
        )
        assert status == 200
        await wait_for(lambda: len(bot_messages(slack, ADMINS)) == 2 and settled(slack_client))
        report = bot_messages(slack, ADMINS)[1]
        assert "not personal data" in report["text"] and "test card of our shop" in json.dumps(
            report["blocks"]
        )
        await click(slack, review_url, ADMINS, report["ts"], rb.FALSE_POSITIVE, sb.ADMIN_USER_ID)
        await wait_for(
            lambda: items(slack_client)[0]["state"] == "released" and settled(slack_client)
        )

        # The same card again (written differently) stays; another card is still held.
        again = slack.post_message(CHANNEL, "U0BOB", f"card: {CARD.replace(' ', '-')}")
        other = slack.post_message(CHANNEL, "U0BOB", f"card: {OTHER_CARD}")
        for envelope in (again, other):
            assert await send(slack, review_url, envelope) == 200
        await wait_for(lambda: len(items(slack_client)) == 2 and settled(slack_client))

    assert slack.message_exists(CHANNEL, again["event"]["ts"])
    assert not slack.message_exists(CHANNEL, other["event"]["ts"])
    with slack_client.connect() as conn:
        allowed = conn.execute(
            f'SELECT team, value_hash, entity_type, added_by FROM "{slack_client.prefix}".'
            "piiq_allowed_values"
        ).fetchall()
    ((team, value_hash, kind, by),) = allowed
    assert (team, kind, by) == (sb.TEAM_ID, "CREDIT_CARD", sb.ADMIN_USER_ID)
    assert value_hash.startswith("k1:") and "4556" not in value_hash
    actions = [r["action"] for r in audit_rows(slack_client)]
    assert "reported_false_positive" in actions and "false_positive" in actions
    everything = json.dumps([audit_rows(slack_client), jobs(slack_client)], default=str)
    assert "test card of our shop" not in everything and "4556" not in everything

    # An admin takes the entry back (`piiq allow-list remove`): that card is held again.
    listed = run_piiq("allow-list", "list", "--json", **subprocess_env)
    (entry,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert "4556" not in listed.stdout and entry["item_id"] == item["id"]
    removed = run_piiq("allow-list", "remove", str(entry["id"]), **subprocess_env)
    assert removed.returncode == 0, removed.stderr
    async with running(slack_client, QUEUES):
        third = slack.post_message(CHANNEL, "U0BOB", f"card again: {CARD}")
        assert await send(slack, review_url, third) == 200
        await wait_for(lambda: len(items(slack_client)) == 3 and settled(slack_client))
    assert not slack.message_exists(CHANNEL, third["event"]["ts"])


async def test_forged_interactions_enqueue_nothing_and_a_repeat_makes_one_job(
    slack: sb.SlackSandbox, review_url: str, slack_client: Client, held: dict
) -> None:
    item = held
    (review,) = bot_messages(slack, ADMINS)
    url = f"{review_url}/slack/interactions"
    before = len(jobs(slack_client))
    payload = slack.interactivity._base("block_actions", sb.ADMIN_USER_ID) | {
        "container": {"type": "message", "message_ts": review["ts"], "channel_id": ADMINS},
        "actions": [{"type": "button", "action_id": rb.RELEASE, "value": str(item["id"])}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    form = "application/x-www-form-urlencoded"
    good = slack.signed_headers(body, content_type=form)
    forged = good | {"X-Slack-Signature": "v0=" + "0" * 64}
    stale = slack.signed_headers(body, timestamp=int(time.time()) - 301, content_type=form)
    unsigned = {"Content-Type": form}
    for headers in (forged, stale, unsigned):
        assert (await asyncio.to_thread(post, url, body, headers))[0] == 401
    tampered = body.replace(b"block_actions", b"view_submission")
    assert (await asyncio.to_thread(post, url, tampered, good))[0] == 401
    assert len(jobs(slack_client)) == before  # nothing enqueued
    assert (await asyncio.to_thread(post, url, body, good))[0] == 200
    assert (await asyncio.to_thread(post, url, body, good))[0] == 200  # delivered twice
    assert len(jobs(slack_client)) == before + 1
    garbage = b"payload=%7Bnot-json"
    assert (await asyncio.to_thread(post, url, garbage, slack.signed_headers(garbage)))[0] == 400


def test_an_events_worker_that_can_hold_messages_schedules_their_retention() -> None:
    keys = Settings(args_keys=KEY)
    assert with_retention(keys, ["events=8/20"], ()) == (RETENTION_ENTRY,)
    mine = "* * * * * myapp.Report"
    assert with_retention(keys, ["events=8", "app=1"], (mine,)) == (mine, RETENTION_ENTRY)
    # Files only, or no keys (nothing is ever held): no entry.
    assert with_retention(keys, ["pii_detection=2"], ()) == ()
    assert with_retention(Settings(args_keys=None), ["events=8"], ()) == ()
    # The user's own schedule of that worker wins.
    theirs = "*/10 * * * * piiq.slack.review.ExpireHeldWorker"
    assert with_retention(keys, ["events=8"], (theirs,)) == (theirs,)
