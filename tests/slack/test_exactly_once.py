"""A DM or an alert is sent once even when its record in the job is lost: the retry finds
the notice an earlier attempt posted (message metadata naming the job) and posts nothing.

The record is lost at exactly the bad moment: a sandbox hook runs right after Slack has
accepted the post, before the worker hears back, and breaks the worker's database side."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from psycopg.conninfo import make_conninfo
from slack_sdk import WebClient

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.slack.workers import SlackMessageWorker
from tests.support.queue_helpers import running, wait_for

from .test_flow import QUEUES, audit_rows, jobs, post_card, run_workers, settled

ADMINS = "C0SECURITY"


def on_post_to(slack: sb.SlackSandbox, channel: str, action: Callable[[], None]) -> None:
    """Run ``action`` once, right after the first successful post to ``channel``."""

    def hook(call: sb.Call) -> None:
        if call.args.get("channel") == channel:
            action()
        else:
            slack.after("chat.postMessage", hook)

    slack.after("chat.postMessage", hook)


def move_out_of_executing(client: Client) -> Callable[[], None]:
    """What a rescue (or Oban Web, or SQL) does to a job mid-attempt: the attempt's records
    and ack then find no executing row, and the job runs again."""

    def move() -> None:
        with client.connect(autocommit=True) as conn:
            conn.execute(
                f"UPDATE \"{client.prefix}\".oban_jobs SET state = 'available', "
                "scheduled_at = timezone('UTC', now()) WHERE state = 'executing'"
            )

    return move


def kill_worker_connections(client: Client) -> Callable[[], None]:
    """pg_terminate_backend on every connection the worker's steps use (the pool that
    ``Job.record`` and the audit draw from; named by the worker's URL)."""

    def kill() -> None:
        with client.connect(autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND application_name = %s",
                (steps_pool_name(client),),
            ).fetchall()
        assert killed, "no worker connection to kill"

    return kill


def steps_pool_name(client: Client) -> str:
    return f"steps-{client.prefix}"[:63]


def worker_client(client: Client) -> Client:
    """The test schema through a URL whose connections say whose they are, so the test
    kills only its own worker's connections on a server other tests share."""
    url = make_conninfo(client.database_url or "", application_name=steps_pool_name(client))
    return Client(url, prefix=client.prefix)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SlackMessageWorker, "backoff", lambda self, job: 0.2)


def dms(slack: sb.SlackSandbox) -> list[dict]:
    return slack.direct_messages("U0ALICE")


def alerts(slack: sb.SlackSandbox) -> list[dict]:
    return [
        c.args for c in slack.calls_to("chat.postMessage", ok=True) if c.args["channel"] == ADMINS
    ]


@pytest.mark.parametrize("breaker", [move_out_of_executing, kill_worker_connections])
async def test_the_dm_is_not_sent_again_when_its_record_is_lost(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, breaker
) -> None:
    on_post_to(slack, "D0ALICE", breaker(slack_client))
    envelope = await post_card(slack, ingress_url)
    async with running(worker_client(slack_client), QUEUES):  # killable connections
        await wait_for(lambda: settled(slack_client), within=30)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed"
    assert len(dms(slack)) == 1  # the old code sent it again on the second attempt
    assert not slack.message_exists("C0GENERAL", envelope["event"]["ts"])
    (dm,) = dms(slack)
    assert dm["metadata"] == {
        "event_type": "piiq_notice",
        "event_payload": {"job_id": job["id"], "step": "notified"},
    }
    # A dropped connection is retried by Job.record itself (one attempt, no look-up);
    # a lost lease makes a second attempt, which looks for its DM once before posting.
    looked = slack.calls_to("conversations.history")
    assert len(looked) <= 1
    for call in looked:
        assert call.args["channel"] == "D0ALICE" and call.args["include_all_metadata"] == "1"
    assert job["meta"]["notified"] == "author notified"
    (row,) = audit_rows(slack_client)
    assert row["outcome"] == "deleted; author notified"


async def test_the_admin_alert_is_not_sent_again_when_its_record_is_lost(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIIQ_ADMIN_CHANNEL", ADMINS)
    slack.fail("chat.delete", "cant_delete_message")  # so the admins hear of it
    on_post_to(slack, ADMINS, move_out_of_executing(slack_client))
    await post_card(slack, ingress_url)
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed"
    assert len(alerts(slack)) == 1 and len(dms(slack)) == 1
    (row,) = audit_rows(slack_client)
    assert row["outcome"] == "not deleted: cant_delete_message; author notified; admins alerted"


async def test_a_first_attempt_posts_without_looking_and_a_retry_that_finds_nothing_posts(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    # The DM itself fails (Slack is down) on the first attempt: the retry looks, finds
    # nothing of this job, and sends it.
    slack.fail("chat.postMessage", "internal_error", status=500)
    await post_card(slack, ingress_url)
    await run_workers(slack_client)
    (job,) = jobs(slack_client)
    assert job["state"] == "completed" and len(dms(slack)) == 1
    assert len(slack.calls_to("conversations.history")) == 1


async def test_without_history_access_the_retry_says_so_and_still_notifies(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, log_lines
) -> None:
    slack.fail("chat.postMessage", "internal_error", status=500)
    slack.fail("conversations.history", "missing_scope")
    mark = len(log_lines.lines)
    await post_card(slack, ingress_url)
    await run_workers(slack_client)
    await wait_for(lambda: len(dms(slack)) == 1)
    (warning,) = [e for e in log_lines.since(mark) if e.get("error") == "missing_scope"]
    assert warning["level"] == "warning" and "im:history" in warning["fix"]


async def test_a_notice_forged_by_someone_else_does_not_stop_the_dm(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    await post_card(slack, ingress_url)
    (job,) = jobs(slack_client)
    forged = {
        "event_type": "piiq_notice",
        "event_payload": {"job_id": job["id"], "step": "notified"},
    }
    person = WebClient(token=sb.ADMIN_TOKEN, base_url=slack.base_url)  # a user token, no bot
    person.chat_postMessage(channel="D0ALICE", text="nothing to see", metadata=forged)
    slack.fail("chat.postMessage", "internal_error", status=500)  # the first attempt fails
    await run_workers(slack_client)
    from_bot = [c for c in slack.calls_to("chat.postMessage", ok=True) if c.token == "bot"]
    assert [c.args["channel"] for c in from_bot] == ["D0ALICE"]  # sent despite the forgery
    assert jobs(slack_client)[0]["meta"]["notified"] == "author notified"
