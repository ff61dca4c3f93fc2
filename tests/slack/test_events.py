"""Which events become jobs, and what a job carries (pure functions, no I/O)."""

from __future__ import annotations

import json

import pytest

from piiq import sandbox as sb
from piiq.slack.content import message_sources
from piiq.slack.events import route_event
from piiq.slack.jobs import message_job

SLACK = sb.SlackSandbox()  # not started: only its event builders are used


def event(**fields) -> dict:
    base = {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.000001"}
    return SLACK.envelope({**base, **fields})


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        (event(), "message"),
        (event(thread_ts="0.5"), "message"),
        (event(subtype="thread_broadcast", thread_ts="0.5"), "message"),
        (event(subtype="file_share", files=[{"id": "F1", "name": "a.pdf"}]), "message"),
        (event(subtype="bot_message", bot_id="B9"), "subtype bot_message"),
        (event(bot_id=sb.BOT_ID), "bot message"),
        (event(subtype="channel_join"), "subtype channel_join"),
        (event(subtype="message_deleted"), "subtype message_deleted"),
        (event(user=None), "no author or ts"),
        (SLACK.envelope({"type": "reaction_added", "user": "U1"}), "event type 'reaction_added'"),
        ({"type": "app_rate_limited"}, "not an event callback ('app_rate_limited')"),
    ],
)
def test_routing(envelope: dict, reason: str) -> None:
    routing = route_event(envelope)
    assert routing.reason == reason
    assert (routing.args is not None) == (reason == "message")


def test_exempt_channels_are_skipped() -> None:
    assert route_event(event(channel="C9"), exempt_channels={"C9"}).reason == "exempt channel"


def test_edits_are_scanned_only_when_the_content_changed() -> None:
    before = {"type": "message", "user": "U1", "text": "call me", "ts": "1.1"}
    changed = SLACK.envelope(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "message": {**before, "text": "call me at 212 736 4512"},
            "previous_message": before,
        }
    )
    routing = route_event(changed)
    assert routing.reason == "edited message"
    assert routing.args["edited"] and routing.args["ts"] == "1.1"
    assert routing.args["text"] == "call me at 212 736 4512"
    unfurled = json.loads(json.dumps(changed))
    unfurled["event"]["previous_message"] = {**unfurled["event"]["message"], "unfurl": True}
    assert route_event(unfurled).reason == "edit without new content"


def test_job_args_hold_what_the_worker_needs_and_no_token() -> None:
    envelope = event(
        subtype="file_share",
        thread_ts="0.5",
        attachments=[{"title": "Ticket", "text": "card 4556 7375 8689 9855", "color": "#f00"}],
        files=[{"id": "F1", "name": "a.pdf", "mimetype": "application/pdf", "size": 10,
                "url_private": "https://files.slack.com/x"}],
    )  # fmt: skip
    args = route_event(envelope).args
    assert args is not None
    assert args["files"] == [
        {"id": "F1", "name": "a.pdf", "mimetype": "application/pdf", "size": 10}
    ]
    assert args["attachments"] == [{"title": "Ticket", "text": "card 4556 7375 8689 9855"}]
    job = message_job(args)
    assert (
        job.unique is not None and job.unique.key == f"slack-message:{sb.TEAM_ID}:C1:{args['ts']}"
    )
    assert (job.queue, job.max_attempts, job.meta["scrub"][0]) == ("events", 3, "text")
    retried = message_job(route_event(json.loads(json.dumps(envelope))).args)
    edit = event(subtype="message_changed", message={**envelope["event"], "text": "new"})
    edited = message_job(
        route_event(
            {**edit, "event": {**edit["event"], "previous_message": envelope["event"]}}
        ).args
    )
    assert retried.unique == job.unique  # one job per message ...
    assert (
        edited.unique is not None
        and edited.unique.key == f"slack-event:{sb.TEAM_ID}:{edit['event_id']}"
    )
    assert "xox" not in json.dumps(job.args)


def test_message_sources_skip_blocks_that_repeat_the_text() -> None:
    rich = [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "hello "}, {"type": "user", "user_id": "U2"},
        {"type": "text", "text": " world"}]}]}]  # fmt: skip
    section = [{"type": "section", "text": {"type": "mrkdwn", "text": "SSN 536-22-1474"}}]
    args = {"text": "hello <@U2> world", "blocks": rich, "attachments": []}
    assert [s.name for s in message_sources(args)] == ["text"]
    args = {
        "text": "form",
        "blocks": section,
        "attachments": [{"fields": [{"title": "a", "value": "b"}]}],
    }
    sources = {s.name: s.text for s in message_sources(args)}
    assert sources == {"text": "form", "attachment 1": "a: b", "blocks": "SSN 536-22-1474"}


def test_grid_events_carry_the_org_and_whether_the_install_is_org_wide() -> None:
    grid = sb.Workspace.with_people(team_id="T0GRIDA", enterprise_id="E0GRID")
    args = route_event(grid.post_message("C1", "U0ALICE", "hi")).args
    assert args is not None
    assert (args["team"], args["enterprise"], args["enterprise_install"]) == (
        "T0GRIDA",
        "E0GRID",
        False,
    )
    grid.org_install = True
    args = route_event(grid.post_message("C1", "U0ALICE", "hi")).args
    assert args is not None and args["enterprise_install"] is True
    # outside Grid the args are as they always were: no org keys at all
    plain = route_event(sb.Workspace.with_people().post_message("C1", "U0ALICE", "hi")).args
    assert plain is not None and "enterprise" not in plain and plain["team"] == sb.TEAM_ID
