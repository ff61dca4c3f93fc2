"""The sandbox keeps message metadata and pages conversations.history as Slack does, seen
through slack_sdk's real WebClient over HTTP."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from piiq import sandbox as sb


@pytest.fixture
def bot(slack: sb.SlackSandbox) -> WebClient:
    return WebClient(token=sb.BOT_TOKEN, base_url=slack.base_url)


def test_metadata_is_returned_whole_only_with_include_all_metadata(bot: WebClient) -> None:
    meta = {"event_type": "piiq_notice", "event_payload": {"job_id": 7, "step": "notified"}}
    posted = bot.chat_postMessage(channel="D0ALICE", text="hello", metadata=meta)
    assert posted["message"]["metadata"] == meta
    (whole,) = bot.conversations_history(channel="D0ALICE", include_all_metadata=True)["messages"]
    (brief,) = bot.conversations_history(channel="D0ALICE")["messages"]
    assert whole["metadata"] == meta and whole["ts"] == posted["ts"]
    assert brief["metadata"] == {"event_type": "piiq_notice"}
    assert whole["bot_id"] == sb.BOT_ID and whole["user"] == sb.BOT_USER_ID


def test_history_is_newest_first_in_pages_and_bounded_by_oldest(bot: WebClient) -> None:
    sent = [bot.chat_postMessage(channel="C0X", text=f"m{i}")["ts"] for i in range(5)]
    first = bot.conversations_history(channel="C0X", limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = bot.conversations_history(channel="C0X", limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    newer = bot.conversations_history(channel="C0X", oldest=sent[2])
    assert [m["text"] for m in newer["messages"]] == ["m4", "m3"] and not newer["has_more"]
    inclusive = bot.conversations_history(channel="C0X", oldest=sent[2], inclusive=True)
    assert len(inclusive["messages"]) == 3
    assert bot.conversations_history(channel="C0OTHER")["messages"] == []


def test_metadata_without_an_event_type_is_refused(bot: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        bot.chat_postMessage(channel="D0ALICE", text="x", metadata={"event_payload": {}})
    assert caught.value.response["error"] == "invalid_metadata_schema"
