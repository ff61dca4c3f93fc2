"""Pruner, Lifeline and fast rescue against a real PostgreSQL, and `piiq maintenance`."""

from __future__ import annotations

import json
import threading
from collections import Counter

import psycopg
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY

import piiq.runtime.metrics  # noqa: F401 (counts the queue's telemetry)
from piiq.cli import main
from piiq.queue import Client, Job, MaintenanceOptions, Worker
from piiq.queue._durations import parse_duration
from piiq.queue._maintenance import pass_steps, prune_steps, rescue_steps
from piiq.queue._steps import run_sync
from piiq.queue.inspection import get_job
from tests.support.queue_helpers import running, wait_for

DAY = 86400


def sql(client: Client, statement: str, params: tuple = ()) -> list[tuple]:
    with client.connect(autocommit=True) as conn:
        cur = conn.execute(statement.replace("{p}", f'"{client.prefix}"'), params)
        return cur.fetchall() if cur.description else []


def make_job(client: Client, state: str, *, ago: dict[str, float] | None = None, **columns) -> int:
    """A job row in ``state`` whose timestamps lie ``ago`` seconds in the past."""
    ago = ago or {}
    sets = ", ".join(
        [
            f"{col} = timezone('UTC', now()) - make_interval(secs => {secs})"
            for col, secs in ago.items()
        ]
        + [f"{col} = %s" for col in columns]
    )
    (job_id,) = sql(
        client,
        "INSERT INTO {p}.oban_jobs (worker, queue, args) VALUES ('app.W', 'q', '{}') RETURNING id",
    )[0]
    sql(client, f"UPDATE {{p}}.oban_jobs SET state = %s{', ' + sets if sets else ''} WHERE id = %s",
        (state, *columns.values(), job_id))  # fmt: skip
    return job_id


def run_pass(client: Client, steps) -> object:
    with client.connect(autocommit=True) as conn:
        return run_sync(conn, steps)


def exists(client: Client, job_id: int) -> bool:
    return bool(sql(client, "SELECT 1 FROM {p}.oban_jobs WHERE id = %s", (job_id,)))


def load(client: Client, job_id: int) -> Job:
    with client.connect() as conn:
        job = get_job(conn, job_id, client.prefix)
    assert job is not None
    return job


def add_producer(
    client: Client, uuid: str, *, silent_for: float = 0, stopped: bool = False
) -> None:
    sql(
        client,
        "INSERT INTO {p}.piiq_producers (uuid, node, pid, queues, heartbeat_at, stopped_at) "
        "VALUES (%s, 'node-a', 1, '{q}', timezone('UTC', now()) - make_interval(secs => %s), "
        "CASE WHEN %s THEN timezone('UTC', now()) ELSE NULL END)",
        (uuid, silent_for, stopped),
    )


# Pruner ----------------------------------------------------------------------------------


def test_pruner_ages_each_state_by_its_own_timestamp(queue_client: Client) -> None:
    old, new = {"completed_at": 8 * DAY}, {"completed_at": 60}
    pruned_completed = make_job(queue_client, "completed", ago=old | {"scheduled_at": 60})
    kept_completed = make_job(queue_client, "completed", ago=new | {"scheduled_at": 30 * DAY})
    pruned_cancelled = make_job(queue_client, "cancelled", ago={"cancelled_at": 8 * DAY})
    kept_discarded = make_job(queue_client, "discarded", ago={"discarded_at": 8 * DAY})
    pruned_discarded = make_job(queue_client, "discarded", ago={"discarded_at": 31 * DAY})
    unfinished = [
        make_job(queue_client, state, ago={"scheduled_at": 100 * DAY, "inserted_at": 100 * DAY})
        for state in ("available", "scheduled", "retryable", "executing")
    ]
    options = MaintenanceOptions(
        prune_max_age=7 * DAY,
        prune_max_age_by_state={"discarded": 30 * DAY},
        rescue_after=None,
        fast_rescue=False,
    )
    summary = run_pass(queue_client, pass_steps(queue_client.prefix, options))
    assert summary.pruned == {"completed": 1, "discarded": 1, "cancelled": 1}
    for job_id in (pruned_completed, pruned_cancelled, pruned_discarded):
        assert not exists(queue_client, job_id)
    for job_id in (kept_completed, kept_discarded, *unfinished):
        assert exists(queue_client, job_id)


def test_pruner_deletes_in_bounded_batches(queue_client: Client) -> None:
    sql(
        queue_client,
        "INSERT INTO {p}.oban_jobs (worker, args, state, completed_at) "
        "SELECT 'app.W', '{}', 'completed', timezone('UTC', now()) - interval '10 days' "
        "FROM generate_series(1, 1050)",
    )
    statements = []
    steps = prune_steps(queue_client.prefix, MaintenanceOptions(prune_limit=100))

    def counting(steps):
        rows = None
        try:
            while True:
                statement = steps.send(rows)
                statements.append(statement[0])
                rows = yield statement
        except StopIteration as done:
            return done.value

    summary = run_pass(queue_client, counting(steps))
    assert summary.pruned["completed"] == 1050
    assert sum("DELETE" in s and "completed_at" in s for s in statements) == 11  # 10 full + 1


# Lifeline and fast rescue ------------------------------------------------------------------


def test_lifeline_rescues_old_executing_jobs_of_unknown_processes(queue_client: Client) -> None:
    stale = make_job(queue_client, "executing", ago={"attempted_at": 31 * 60}, attempt=1,
                     attempted_by=["elixir@host", "oban-producer"])  # fmt: skip
    exhausted = make_job(queue_client, "executing", ago={"attempted_at": 31 * 60}, attempt=3,
                         max_attempts=3)  # fmt: skip
    recent = make_job(queue_client, "executing", ago={"attempted_at": 60}, attempt=1)
    options = MaintenanceOptions(rescue_after=30 * 60, prune_max_age=None)
    summary = run_pass(queue_client, rescue_steps(queue_client.prefix, options))
    assert (summary.rescued, summary.discarded) == (1, 1)
    assert (summary.rescued_by_queue, summary.discarded_by_queue) == ({"q": 1}, {"q": 1})
    job = load(queue_client, stale)
    assert job.state == "available" and job.attempt == 1 and job.meta["rescued"] == 1
    assert "executing for more than 1800 s (Lifeline)" in job.errors[-1]["error"]
    gone = load(queue_client, exhausted)
    assert gone.state == "discarded" and gone.discarded_at is not None
    assert load(queue_client, recent).state == "executing"


def test_fast_rescue_by_heartbeat_and_never_from_a_live_process(queue_client: Client) -> None:
    add_producer(queue_client, "dead", silent_for=60)
    add_producer(queue_client, "stopped", stopped=True)
    add_producer(queue_client, "alive", silent_for=1)
    of_dead = make_job(queue_client, "executing", ago={"attempted_at": 2}, attempt=1,
                       attempted_by=["node-a", "dead"])  # fmt: skip
    of_stopped = make_job(queue_client, "executing", ago={"attempted_at": 2}, attempt=1,
                          attempted_by=["node-a", "stopped"])  # fmt: skip
    long_running = make_job(queue_client, "executing", ago={"attempted_at": 5 * 3600}, attempt=1,
                            attempted_by=["node-a", "alive"])  # fmt: skip
    options = MaintenanceOptions(heartbeat_timeout=30, rescue_after=30 * 60, prune_max_age=None)
    summary = run_pass(queue_client, rescue_steps(queue_client.prefix, options))
    assert summary.rescued == 2
    rescued = load(queue_client, of_dead)
    assert rescued.state == "available"
    assert "rescued: worker node-a (dead) last seen" in rescued.errors[-1]["error"]
    assert load(queue_client, of_stopped).state == "available"
    assert load(queue_client, long_running).state == "executing"  # 5 h, but its worker lives


def rescued_total(queue: str, state: str) -> float:
    labels = {"queue": queue, "state": state}
    return REGISTRY.get_sample_value("piiq_jobs_rescued_total", labels) or 0.0


async def test_a_workers_fast_rescue_is_counted_in_its_metrics(queue_client: Client) -> None:
    add_producer(queue_client, "dead", silent_for=60)
    orphan = make_job(queue_client, "executing", attempt=1, attempted_by=["node-a", "dead"])
    exhausted = make_job(queue_client, "executing", attempt=3, max_attempts=3,
                         attempted_by=["node-a", "dead"])  # fmt: skip
    before = {state: rescued_total("q", state) for state in ("available", "discarded")}
    async with running(queue_client, {"elsewhere": 1}, rescue_interval=0.05):
        await wait_for(lambda: load(queue_client, exhausted).state == "discarded")
    assert load(queue_client, orphan).state == "available"
    assert rescued_total("q", "available") == before["available"] + 1
    assert rescued_total("q", "discarded") == before["discarded"] + 1


def test_rescue_skips_a_job_being_acknowledged(queue_client: Client) -> None:
    add_producer(queue_client, "dead", silent_for=60)
    job_id = make_job(queue_client, "executing", attempt=1, attempted_by=["n", "dead"])
    options = MaintenanceOptions(prune_max_age=None, rescue_after=None)
    with psycopg.connect(queue_client.database_url) as acker:
        acker.execute(
            f'SELECT 1 FROM "{queue_client.prefix}".oban_jobs WHERE id = %s FOR UPDATE', (job_id,)
        )
        summary = run_pass(queue_client, rescue_steps(queue_client.prefix, options))
        assert summary.rescued == 0  # locked by the ack in flight: skipped, not waited on
        acker.execute(
            f"UPDATE \"{queue_client.prefix}\".oban_jobs SET state = 'completed', "
            "completed_at = timezone('UTC', now()) WHERE id = %s",
            (job_id,),
        )
    assert run_pass(queue_client, rescue_steps(queue_client.prefix, options)).rescued == 0
    assert load(queue_client, job_id).state == "completed"


def test_two_passes_at_once_split_the_work(queue_client: Client) -> None:
    add_producer(queue_client, "dead", silent_for=60)
    sql(
        queue_client,
        "INSERT INTO {p}.oban_jobs (worker, args, state, attempt, attempted_at, attempted_by) "
        "SELECT 'app.W', '{}', 'executing', 1, timezone('UTC', now()), '{n,dead}' "
        "FROM generate_series(1, 3000)",
    )
    sql(
        queue_client,
        "INSERT INTO {p}.oban_jobs (worker, args, state, completed_at) "
        "SELECT 'app.W', '{}', 'completed', timezone('UTC', now()) - interval '8 days' "
        "FROM generate_series(1, 6000)",
    )
    options = MaintenanceOptions(prune_limit=250, rescue_limit=250)
    totals: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one_pass() -> None:
        try:
            summary = run_pass(queue_client, pass_steps(queue_client.prefix, options))
        except BaseException as exc:  # collected and failed below
            errors.append(exc)
            return
        with lock:
            totals["rescued"] += summary.rescued
            totals["pruned"] += summary.pruned["completed"]

    threads = [threading.Thread(target=one_pass) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert totals == {"rescued": 3000, "pruned": 6000}


# Privacy ----------------------------------------------------------------------------------


class Private(Worker):
    queue = "private"
    max_attempts = 1
    sensitive_args = ("text",)

    def perform(self, job: Job) -> None:
        if job.args.get("fail"):
            raise ValueError(f"cannot parse {job.args['text']}")


async def test_sensitive_args_are_scrubbed_when_finished(queue_client: Client) -> None:
    done = queue_client.insert(Private.new({"text": "my SSN is 078-05-1120", "channel": "C1"}))
    failed = queue_client.insert(Private.new({"text": "card 4111111111111111", "fail": True}))
    pending = queue_client.insert(Private.new({"text": "still to scan"}, schedule_in=3600))
    async with running(queue_client, {"private": 2}):
        await wait_for(lambda: load(queue_client, failed.id).state == "discarded")
        await wait_for(lambda: load(queue_client, done.id).state == "completed")
    for job_id in (done.id, failed.id):
        job = load(queue_client, job_id)
        assert job.args["text"] == "scrubbed"
        assert "078-05" not in json.dumps(job.args) + json.dumps(job.errors)
        assert "4111111111111111" not in json.dumps(job.args) + json.dumps(job.errors)
    assert load(queue_client, done.id).args["channel"] == "C1"
    assert load(queue_client, pending.id).args["text"] == "still to scan"  # not finished yet


# CLI and durations ---------------------------------------------------------------------------


def test_cli_maintenance_once_prints_one_json_summary(queue_client: Client) -> None:
    make_job(queue_client, "completed", ago={"completed_at": 8 * DAY})
    make_job(queue_client, "executing", ago={"attempted_at": 3600}, attempt=1)
    env = {"PIIQ_DATABASE_URL": queue_client.database_url, "PIIQ_QUEUE_PREFIX": queue_client.prefix}
    result = CliRunner().invoke(
        main, ["maintenance", "--prune-max-age", "7d", "--rescue-after", "30m", "--once"], env=env
    )
    assert result.exit_code == 0, result.output
    (line,) = result.output.strip().splitlines()
    summary = json.loads(line)
    assert summary["event"] == "maintenance.pass"
    assert summary["pruned"]["completed"] == 1 and summary["rescued"] == 1


def test_cli_maintenance_unreachable_database_fails_clearly() -> None:
    result = CliRunner().invoke(
        main, ["maintenance", "--once", "--database-url", "postgresql://u:pw@127.0.0.1:1/x"]
    )
    assert result.exit_code == 1
    assert "maintenance.failed" in result.output and "Connection refused" in result.output
    assert "pw" not in result.output


@pytest.mark.parametrize("bad", ["7x", "-1", "0", "d7", "ten minutes"])
def test_bad_durations_are_rejected_naming_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)
    result = CliRunner().invoke(main, ["maintenance", "--once", "--rescue-after", bad])
    assert result.exit_code == 2 and repr(bad) in result.output


@pytest.mark.parametrize(
    ("text", "seconds"), [("7d", 604800), ("30m", 1800), ("90s", 90), ("90", 90), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
