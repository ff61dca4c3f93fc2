"""``make demo``'s review part: the quarantined message, the admins' review message, the
author's "Not personal data" button and modal, the admin's ruling, and the same text
posted again, each step sent as Slack sends it (signed interactivity payloads) and shown
as it happens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console

from .. import sandbox as sb
from ..slack import review_blocks as rb

STEP_TIMEOUT_S = 15.0
JUSTIFICATION = "It is the charity's public donation account, printed on our website."


def print_buttons(console: Console, message: dict[str, Any]) -> None:
    """A message's buttons, as [Label] [Label]."""
    labels = [
        f"[{element['text']['text']}]"
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if element.get("type") == "button"
    ]
    if labels:
        console.print("  " + " ".join(labels), style="bold blue", markup=False)


def run(
    console: Console,
    slack: sb.SlackSandbox,
    url: str,
    prefix: str,
    ingress: str,
    terminal: Callable[[str], str],
) -> bool:
    """The review steps; False (with a line saying where) when one does not happen."""
    interactions = f"{ingress}/slack/interactions"
    admins, general = "G0SECURITY", "C0GENERAL"
    console.print("\n[bold]held for review[/] (policy: IBAN_CODE quarantine)")
    review = _wait(lambda: _bot_messages(slack, admins)[:1])
    tombstone = _wait(
        lambda: [m for m in _bot_messages(slack, general) if m["text"] == rb.TOMBSTONE]
    )
    if not (review and tombstone):
        return _failed(console, "the held message's review or tombstone")
    console.print(f"[cyan]#general[/]: {terminal(tombstone[0]['text'])}")
    console.print(f"[cyan]#security[/] (private): {terminal(review[0]['text'])}")
    print_buttons(console, review[0])
    item = _item(url, prefix)
    console.print(
        f"  kept copy: {item['content']['kid']} AES-GCM ciphertext until it is decided or "
        f"{item['keep_until']:%Y-%m-%d} (PIIQ_REVIEW_RETENTION_DAYS)"
    )

    console.print("\n[bold]alice clicks[/] [Not personal data] in her DM")
    slack.click(interactions, item["dm_channel"], item["dm_ts"], rb.NOT_PII, "U0ALICE")
    modal = _wait(lambda: slack.open_views("U0ALICE"))
    if not modal:
        return _failed(console, "the justification modal (views.open)")
    console.print(f'  modal opened: "{modal[0]["title"]["text"]}", optional justification')
    values = {rb.JUSTIFICATION_BLOCK: {rb.JUSTIFICATION_INPUT: JUSTIFICATION}}
    slack.submit_view(interactions, modal[0]["id"], "U0ALICE", values)
    console.print(f'  she submits: "{JUSTIFICATION}"')
    report = _wait(lambda: _bot_messages(slack, admins)[1:2])
    if not report:
        return _failed(console, "the false-positive report in #security")
    console.print(f"[cyan]#security[/]: {terminal(report[0]['text'])}")
    print_buttons(console, report[0])

    console.print("\n[bold]an admin clicks[/] [Not personal data: allow it]")
    slack.click(interactions, admins, report[0]["ts"], rb.FALSE_POSITIVE, sb.ADMIN_USER_ID)
    released = _wait(lambda: [m for m in _bot_messages(slack, general) if m.get("blocks")])
    if not released:
        return _failed(console, "the released message")
    console.print(f"[cyan]#general[/]: {terminal(released[0]['text'])}")
    console.print(f"  {terminal(released[0]['blocks'][-1]['elements'][0]['text'])}", style="dim")
    allowed = _allowed(url, prefix)
    console.print(
        f"  allow-list: {len(allowed)} value hash ({allowed[0][:12]}...), scoped to the "
        "workspace; never the value"
    )

    envelope = slack.post_message(general, "U0ALICE", IBAN_AGAIN)
    slack.deliver(f"{ingress}/slack/events", envelope)
    ts = envelope["event"]["ts"]
    if not _wait(lambda: [True] if _job_done(url, prefix, ts) else []):
        return _failed(console, "the repost's scan")
    kept = slack.message_exists(general, ts)
    console.print(
        f"\n[bold]alice posts the same IBAN again[/]: {'allowed, stays' if kept else 'FLAGGED'}"
    )
    return kept


IBAN_AGAIN = "as said, refunds go to DE89 3704 0044 0532 0130 00"


def _wait(found: Callable[[], list[Any]]) -> list[Any]:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.05)
    return []


def _failed(console: Console, what: str) -> bool:
    console.print(
        f"[red]the demo did not end as expected[/]: no {what} within {STEP_TIMEOUT_S:g} s"
    )
    return False


def _bot_messages(slack: sb.SlackSandbox, channel: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages_in(channel) if m.get("bot_id")]


def _query(url: str, prefix: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        statement = sql.SQL(query).format(sql.Identifier(prefix))
        return conn.execute(statement, params).fetchall()


def _item(url: str, prefix: str) -> dict[str, Any]:
    (row,) = _query(
        url, prefix, "SELECT content, keep_until, dm_channel, dm_ts FROM {}.piiq_review_items "
        "WHERE content IS NOT NULL",
    )  # fmt: skip
    return dict(zip(("content", "keep_until", "dm_channel", "dm_ts"), row, strict=True))


def _allowed(url: str, prefix: str) -> list[str]:
    return [h for (h,) in _query(url, prefix, "SELECT value_hash FROM {}.piiq_allowed_values")]


def _job_done(url: str, prefix: str, ts: str) -> bool:
    rows = _query(url, prefix, "SELECT state FROM {}.oban_jobs WHERE args->>'ts' = %s", ts)
    return bool(rows) and rows[0][0] == "completed"
