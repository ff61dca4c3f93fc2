"""A Slack job that hangs fails its attempt at PIIQ_SLACK_JOB_TIMEOUT and is retried: its
queue slot is free again at once and the message is still dealt with. Before, nothing
limited an attempt: a Slack call that never answered held its slot for good.

Slack hangs for real: a sandbox hook holds the answer to one call (the call itself is
carried out, as when Slack is slow to answer) until the test lets it go."""

from __future__ import annotations

import threading

import pytest

from piiq import sandbox as sb
from piiq.queue import Client, LeaseLost
from piiq.runtime.settings import Settings
from piiq.slack.context import SlackContext
from piiq.slack.workers import SlackFileWorker, SlackMessageWorker
from tests.support.pii_samples import CARD
from tests.support.queue_helpers import running, wait_for

from .conftest import CHANNEL
from .test_flow import audit_rows, jobs, send, settled

TIMEOUT_S = 3
HANG_S = 12  # at most: past the test's wait, within the Slack client's 15 s timeout


@pytest.fixture(autouse=True)
def short_timeout_quick_retries(monkeypatch: pytest.MonkeyPatch, slack_settings: Settings) -> None:
    monkeypatch.setenv("PIIQ_SLACK_JOB_TIMEOUT", str(TIMEOUT_S))
    for worker in (SlackMessageWorker, SlackFileWorker):
        monkeypatch.setattr(worker, "backoff", lambda self, job: 0.2)
    assert SlackContext.from_settings(slack_settings).detector  # loaded now, not in an attempt


def hang(slack: sb.SlackSandbox, method: str, when=lambda call: True) -> threading.Event:
    """The next call of ``method`` that ``when`` picks is answered only once the returned
    event is set (or after HANG_S)."""
    release = threading.Event()

    def hook(call: sb.Call) -> None:
        if when(call):
            release.wait(HANG_S)
        else:
            slack.after(method, hook)

    slack.after(method, hook)
    return release


def ended_attempts(monkeypatch: pytest.MonkeyPatch, worker: type) -> list[tuple[int, str]]:
    """(attempt, how perform ended) for each perform of ``worker``, when it ends: a given-up
    attempt's thread ends only once its call returns."""
    ended: list[tuple[int, str]] = []
    perform = worker.perform

    def recorded(self, job):
        try:
            result = perform(self, job)
        except BaseException as exc:
            ended.append((job.attempt, type(exc).__name__))
            raise
        ended.append((job.attempt, "returned"))
        return result

    monkeypatch.setattr(worker, "perform", recorded)
    return ended


def timed_out(job: dict) -> list[str]:
    return [e["error"] for e in job["errors"]]


async def test_a_hung_slack_call_fails_the_attempt_and_the_retry_finishes_the_job(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ended = ended_attempts(monkeypatch, SlackMessageWorker)
    alice = slack.post_message(CHANNEL, "U0ALICE", f"card {CARD}")
    bob = slack.post_message(CHANNEL, "U0BOB", f"mine is {CARD}")
    # Alice's message is deleted, then opening her DM channel hangs.
    release = hang(slack, "conversations.open", lambda call: call.args["users"] == "U0ALICE")
    try:
        async with running(slack_client, {"events": 1}, shutdown_grace=1):
            assert await send(slack, ingress_url, alice) == 200
            assert await send(slack, ingress_url, bob) == 200
            # one slot: Bob's job runs only because Alice's hung attempt gave it back
            await wait_for(lambda: settled(slack_client), within=9)
            assert len(ended) == 2  # Bob's and Alice's retry; the given-up call still hangs
            release.set()
            await wait_for(lambda: len(ended) == 3)
    finally:
        release.set()
    alice_job, bob_job = jobs(slack_client)
    assert (alice_job["state"], bob_job["state"]) == ("completed", "completed")
    assert timed_out(alice_job) == [f"timed out after {TIMEOUT_S} s"]
    assert alice_job["meta"]["deletion"] == "deleted"  # done by the first attempt, kept
    assert not bob_job["errors"]
    for envelope in (alice, bob):
        assert not slack.message_exists(CHANNEL, envelope["event"]["ts"])
    # The given-up attempt's thread got its answer last, and then posted nothing.
    assert ended[-1] == (1, LeaseLost.__name__)
    assert len(slack.direct_messages("U0ALICE")) == 1
    assert len(slack.direct_messages("U0BOB")) == 1
    outcomes = {row["user_id"]: row["outcome"] for row in audit_rows(slack_client)}
    assert outcomes == {"U0ALICE": "deleted; author notified", "U0BOB": "deleted; author notified"}


async def test_a_file_job_whose_slack_call_hangs_is_retried_not_lost(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ended = ended_attempts(monkeypatch, SlackFileWorker)
    shared = slack.add_file("card.txt", f"card {CARD}\n".encode())
    envelope = slack.post_message(CHANNEL, "U0ALICE", "see attached", files=[shared])
    release = hang(slack, "files.info")
    try:
        async with running(slack_client, {"events": 1, "pii_detection": 1}, shutdown_grace=1):
            assert await send(slack, ingress_url, envelope) == 200
            await wait_for(lambda: settled(slack_client), within=9)
            release.set()
            await wait_for(lambda: len(ended) == 2)  # the given-up attempt's thread too
    finally:
        release.set()
    message_job, file_job = jobs(slack_client)
    assert message_job["state"] == "completed"
    assert (file_job["worker"], file_job["state"]) == (SlackFileWorker.name, "completed")
    assert timed_out(file_job) == [f"timed out after {TIMEOUT_S} s"]
    assert shared["id"] not in slack.workspace.files
    assert len(slack.calls_to("files.info")) == 2 and len(slack.calls_to("files.delete")) == 1
    (dm,) = slack.direct_messages("U0ALICE")
    assert "card.txt" in dm["text"]
    (row,) = audit_rows(slack_client)
    assert (row["subject"], row["outcome"]) == (f"file {shared['id']}", "deleted; author notified")


def test_the_limit_is_the_setting_and_zero_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    job = SlackFileWorker.new({"file_id": "F1"})
    monkeypatch.delenv("PIIQ_SLACK_JOB_TIMEOUT")
    assert SlackFileWorker().timeout_for(job) == 180  # a file's 30 s and its Slack calls
    assert SlackMessageWorker().timeout_for(job) == 180
    monkeypatch.setenv("PIIQ_SLACK_JOB_TIMEOUT", "0")
    assert SlackFileWorker().timeout_for(job) is None
