"""The Oban.Testing-style helpers and the pytest plugin's fixtures."""

from __future__ import annotations

import pytest

from piiq.queue import (
    Cancel,
    Client,
    ConfigError,
    Job,
    JobError,
    Runner,
    Snooze,
    Testing,
    Worker,
    perform_job,
)


class Greeter(Worker):
    queue = "mail"

    def perform(self, job: Job) -> str:
        return f"hello {job.args['name']}"


class Chain(Worker):
    """Inserts a follow-up job until depth 3 (for drain_queue's with_recursion)."""

    queue = "chain"

    def perform(self, job: Job) -> None:
        if job.args["depth"] < 3:
            job.client.insert(Chain.new({"depth": job.args["depth"] + 1}))


class Outcomes(Worker):
    queue = "mixed"
    max_attempts = 1

    async def perform(self, job: Job):
        kind = job.args["kind"]
        if kind == "fail":
            raise ValueError("bad")
        if kind == "snooze":
            return Snooze(60)
        if kind == "cancel":
            return Cancel("no longer needed")
        return None


def test_perform_job_runs_and_returns_the_result() -> None:
    assert perform_job(Greeter, {"name": "Ada"}) == "hello Ada"
    assert perform_job(Outcomes, {"kind": "snooze"}) == Snooze(60)
    with pytest.raises(ValueError, match="bad"):
        perform_job(Outcomes, {"kind": "fail"})


def test_perform_job_checks_args_survive_json() -> None:
    with pytest.raises(JobError, match="change when stored as JSON"):
        perform_job(Greeter, {"name": ("tuple", "becomes", "list")})
    with pytest.raises(JobError, match="change when stored as JSON"):
        perform_job(Greeter, {1: "int keys become strings"})


def test_assert_and_refute_enqueued(queue_client: Client, queue_testing: Testing) -> None:
    queue_client.insert(Greeter.new({"name": "Ada", "lang": "en"}))
    job = queue_testing.assert_enqueued(worker=Greeter, args={"name": "Ada"})  # partial args
    assert job.args == {"name": "Ada", "lang": "en"}
    queue_testing.assert_enqueued(queue="mail")
    queue_testing.refute_enqueued(worker=Greeter, args={"name": "Bob"})
    with pytest.raises(
        AssertionError, match=r"expected a job matching worker=.*Greeter.*name': 'Bob'"
    ):
        queue_testing.assert_enqueued(worker=Greeter, args={"name": "Bob"})
    with pytest.raises(AssertionError, match="expected no job matching"):
        queue_testing.refute_enqueued(worker=Greeter)
    assert len(queue_testing.all_enqueued(queue="mail")) == 1
    assert queue_testing.all_enqueued(queue="other") == []


def test_manual_mode_inserts_without_running(queue_client: Client) -> None:
    assert queue_client.testing == "manual"
    assert queue_client.insert(Greeter.new({"name": "Ada"})).state == "available"
    with pytest.raises(ConfigError, match="manual testing mode"):
        Runner(queue_client, {"mail": 1})


def test_inline_mode_runs_at_insert_without_the_database() -> None:
    client = Client("postgresql://unused@127.0.0.1:1/never", testing="inline")
    assert client.insert(Greeter.new({"name": "Ada"})).state == "completed"
    failed = client.insert(Outcomes.new({"kind": "fail"}))
    assert failed.state == "discarded" and "ValueError: bad" in failed.errors[0]["error"]
    assert client.insert(Outcomes.new({"kind": "snooze"})).state == "scheduled"


def test_drain_queue_counts_outcomes(queue_client: Client, queue_testing: Testing) -> None:
    queue_client.insert_all(
        [Outcomes.new({"kind": k}) for k in ("ok", "ok", "fail", "snooze", "cancel")]
        + [Outcomes.new({"kind": "ok"}, schedule_in=3600)]
    )
    counts = queue_testing.drain_queue("mixed")
    assert counts == {"completed": 2, "retryable": 0, "discarded": 1, "cancelled": 1, "snoozed": 1}
    # with_scheduled runs the job scheduled for later, and the snoozed one (which snoozes again)
    again = queue_testing.drain_queue("mixed", with_scheduled=True)
    assert (again["completed"], again["snoozed"]) == (1, 1)
    assert [j.args["kind"] for j in queue_testing.all_enqueued(queue="mixed")] == ["snooze"]


def test_drain_queue_with_recursion(queue_client: Client, queue_testing: Testing) -> None:
    queue_client.insert(Chain.new({"depth": 0}))
    assert queue_testing.drain_queue("chain")["completed"] == 1
    assert queue_testing.drain_queue("chain", with_recursion=True)["completed"] == 3


def test_drain_queue_without_safety_raises(queue_client: Client, queue_testing: Testing) -> None:
    queue_client.insert(Outcomes.new({"kind": "fail"}))
    with pytest.raises(ValueError, match="bad"):
        queue_testing.drain_queue("mixed", with_safety=False)
