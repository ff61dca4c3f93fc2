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


def test_history_is_newest_first_in_pages_and_bounded_by_oldest(
    slack: sb.SlackSandbox, bot: WebClient
) -> None:
    slack.add_channel("C0EMPTY")
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
    slack_channel_is_empty = bot.conversations_history(channel="C0EMPTY")
    assert slack_channel_is_empty["messages"] == [] and not slack_channel_is_empty["has_more"]


def test_metadata_without_an_event_type_is_refused(bot: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        bot.chat_postMessage(channel="D0ALICE", text="x", metadata={"event_payload": {}})
    assert caught.value.response["error"] == "invalid_metadata_schema"


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def test_a_conversation_the_bot_cannot_read_is_refused_as_slack_does(
    slack: sb.SlackSandbox, bot: WebClient
) -> None:
    slack.add_channel("C0PUBLIC", bot_member=False)
    slack.add_channel("C0SECRET", private=True, bot_member=False)
    assert error_of(lambda: bot.conversations_history(channel="C0NOPE")) == "channel_not_found"
    assert error_of(lambda: bot.conversations_history(channel="C0PUBLIC")) == "not_in_channel"
    assert error_of(lambda: bot.conversations_history(channel="C0SECRET")) == "channel_not_found"
    slack.add_channel("C0X")
    assert error_of(lambda: bot.conversations_history(channel="C0X", cursor="zz")) == (
        "invalid_cursor"
    )


def test_threads_are_read_with_replies_and_history_shows_their_parents(
    slack: sb.SlackSandbox, bot: WebClient
) -> None:
    parent = slack.post_message("C0T", "U0ALICE", "lunch?")["event"]["ts"]
    replies = [
        slack.post_message("C0T", "U0BOB", f"r{i}", thread_ts=parent)["event"]["ts"]
        for i in range(3)
    ]
    after = slack.post_message("C0T", "U0CAROL", "later")["event"]["ts"]
    (newest, top) = bot.conversations_history(channel="C0T")["messages"]
    assert newest["ts"] == after and "reply_count" not in newest
    assert (top["ts"], top["thread_ts"], top["reply_count"]) == (parent, parent, 3)
    assert top["latest_reply"] == replies[-1] and top["reply_users"] == ["U0BOB"]
    first = bot.conversations_replies(channel="C0T", ts=parent, limit=2)
    assert [m["ts"] for m in first["messages"]] == [parent, replies[0]] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    rest = bot.conversations_replies(channel="C0T", ts=parent, limit=2, cursor=cursor)
    assert [m["ts"] for m in rest["messages"]] == replies[1:] and not rest["has_more"]
    assert rest["response_metadata"]["next_cursor"] == ""
    newer = bot.conversations_replies(channel="C0T", ts=parent, oldest=replies[0])
    assert [m["ts"] for m in newer["messages"]] == [parent, *replies[1:]]
    assert error_of(lambda: bot.conversations_replies(channel="C0T", ts="1.000001")) == (
        "thread_not_found"
    )


def test_a_cursor_names_the_next_message_so_deletions_shift_no_page(
    slack: sb.SlackSandbox, bot: WebClient
) -> None:
    sent = [slack.post_message("C0D", "U0ALICE", f"m{i}")["event"]["ts"] for i in range(6)]
    first = bot.conversations_history(channel="C0D", limit=2)
    assert [m["ts"] for m in first["messages"]] == [sent[5], sent[4]]
    admin = WebClient(token=sb.ADMIN_TOKEN, base_url=slack.base_url)
    for ts in (sent[5], sent[4]):  # what a scan does to what it found
        admin.chat_delete(channel="C0D", ts=ts)
    cursor = first["response_metadata"]["next_cursor"]
    second = bot.conversations_history(channel="C0D", limit=2, cursor=cursor)
    assert [m["ts"] for m in second["messages"]] == [sent[3], sent[2]]
