"""A quarantined file, end to end over HTTP: held (deleted from Slack, its bytes kept
encrypted in the review item), released by an admin (uploaded again through Slack's
upload flow, files_upload_v2 against the sandbox), or expired; a file piiq could not read
is not held (quarantine fails closed: delete)."""

from __future__ import annotations

import json

import pytest

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.slack import review_blocks as rb
from tests.support.documents import pdf
from tests.support.log_capture import without_clock
from tests.support.pii_samples import CARD
from tests.support.queue_helpers import running, wait_for

from .conftest import CHANNEL
from .test_flow import QUEUES, audit_rows, send, settled
from .test_review import (
    ADMINS,
    bot_messages,
    click,
    expire_at_the_top_of_the_hour,
    items,
    retention_over,
)
from .test_review import review_url as review_url  # the fixture: ingress, keys, policy

DIGITS = CARD.replace(" ", "")


async def share(slack: sb.SlackSandbox, url: str, client: Client, name: str, body: bytes) -> dict:
    """Alice shares a file; workers run until it is acted on. Returns the file's info."""
    shared = slack.add_file(name, body, "application/pdf")
    envelope = slack.post_message(CHANNEL, "U0ALICE", "the form", files=[shared])
    assert await send(slack, url, envelope) == 200
    await wait_for(lambda: settled(client) and bool(audit_rows(client)), within=60)
    return shared


async def test_a_quarantined_file_is_kept_encrypted_and_released_with_its_bytes(
    slack: sb.SlackSandbox, review_url: str, slack_client: Client
) -> None:
    body = pdf([f"Card {CARD}"])
    async with running(slack_client, QUEUES):
        shared = await share(slack, review_url, slack_client, "form.pdf", body)
        assert shared["id"] not in slack.workspace.files  # gone from Slack (files.delete)
        (item,) = items(slack_client)
        assert item["state"] == "held"
        kept = bytes(item["file_bytes"])
        assert body not in kept and DIGITS.encode() not in kept and b"%PDF" not in kept
        assert "form.pdf" not in item["content_text"] and DIGITS not in item["content_text"]
        (tombstone,) = bot_messages(slack, CHANNEL)
        assert tombstone["text"] == rb.TOMBSTONE
        (review,) = bot_messages(slack, ADMINS)
        shown = json.dumps(review["blocks"])
        assert (
            "a file" in shown
            and "payment card number" in shown
            and "4556" not in without_clock(shown)
        )
        buttons = [e.get("action_id") for b in review["blocks"] for e in b.get("elements", [])]
        assert {rb.RELEASE, rb.DELETE, rb.FALSE_POSITIVE} <= set(buttons)
        (dm,) = slack.direct_messages("U0ALICE")
        assert rb.NOT_PII in json.dumps(dm["blocks"])  # the author may answer for a file too

        await click(slack, review_url, ADMINS, review["ts"], rb.RELEASE, sb.ADMIN_USER_ID)
        await wait_for(
            lambda: items(slack_client)[0]["state"] == "released" and settled(slack_client)
        )

    (released,) = bot_messages(slack, CHANNEL)  # the tombstone gave way to the file
    assert released["subtype"] == "file_share"
    assert "Originally posted by <@U0ALICE>" in released["text"]
    assert f"released after review by <@{sb.ADMIN_USER_ID}>" in released["text"]
    (again,) = released["files"]
    assert again["name"] == "form.pdf" and again["channels"] == [CHANNEL]
    assert slack.workspace.file_bodies[again["id"]] == body  # the same bytes
    assert slack.calls_to("files.getUploadURLExternal", ok=True)
    assert slack.calls_to("files.completeUploadExternal", ok=True)
    (item,) = items(slack_client)
    assert item["file_bytes"] is None and item["content"] is None
    actions = {r["action"] for r in audit_rows(slack_client)}
    assert {"held", "released"} <= actions


async def test_retention_expiry_deletes_the_kept_file(
    slack: sb.SlackSandbox,
    review_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIIQ_REVIEW_RETENTION_DAYS", str(1 / 86400))  # one second
    async with running(slack_client, QUEUES):
        await share(slack, review_url, slack_client, "form.pdf", pdf([f"Card {CARD}"]))
        assert items(slack_client)[0]["file_bytes"] is not None
        await wait_for(lambda: retention_over(slack_client), within=5)
    await expire_at_the_top_of_the_hour(slack_client)
    (item,) = items(slack_client)
    assert item["file_bytes"] is None and item["content"] is None


async def test_a_file_too_large_to_read_is_deleted_not_held(
    slack: sb.SlackSandbox,
    review_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its name holds a card number, but piiq never read its bytes (over
    PIIQ_MAX_FILE_BYTES): there is no copy to keep, so quarantine acts as delete."""
    monkeypatch.setenv("PIIQ_MAX_FILE_BYTES", "1000")
    async with running(slack_client, QUEUES):
        name = f"card-{DIGITS}.pdf"
        shared = await share(slack, review_url, slack_client, name, b"%PDF-1.4\n" + b"x" * 5000)
    assert shared["id"] not in slack.workspace.files
    assert all(row["file_bytes"] is None for row in items(slack_client))
    assert all(row["state"] != "held" for row in items(slack_client))
    (row,) = [r for r in audit_rows(slack_client) if r["subject"].startswith("file")]
    assert (row["decision"], row["action"]) == ("delete", "deleted")
