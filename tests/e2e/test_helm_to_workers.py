"""What the chart and the operator deploy really runs: Slack events in, messages deleted and
authors DMed; the maintenance CronJob prunes and rescues; a SIGKILLed worker loses nothing;
`helm test` passes; the logs are JSON lines without text, values or secrets.

The tests share one stack (tests/e2e/conftest.py) and run in file order."""

from __future__ import annotations

import asyncio
import base64
import datetime
import urllib.request
from typing import Any

import pytest

from piiq import sandbox as sb
from piiq.commands.canary import Canary
from piiq.queue import Client
from tests.e2e.stack import (
    INGRESS,
    MAINTENANCE,
    PASSWORD,
    PREFIX,
    WORKERS,
    Stack,
    wait_until,
)
from tests.support.log_capture import without_clock

pytestmark = pytest.mark.slow  # a helm install and a dozen processes (tests/e2e/conftest.py)

CHANNEL = "C0GENERAL"
CARD, SSN = "4556 7375 8689 9855", "536-22-1474"
PII_TEXTS = [
    ("U0ALICE", f"my card is {CARD}, can you book it?"),
    ("U0BOB", f"for the HR form my SSN is {SSN}"),
]
CLEAN = ("U0CAROL", "standup moved to 10:30")
SETTLE_TIMEOUT = 30.0
SECRETS = [PASSWORD, sb.BOT_TOKEN, sb.ADMIN_TOKEN, sb.SIGNING_SECRET]


def jobs(stack: Stack) -> list[dict[str, Any]]:
    with stack.connect() as conn:
        cursor = conn.execute(
            f"SELECT id, queue, state, attempt, attempted_by, errors FROM {PREFIX}.oban_jobs ORDER BY id"
        )
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def settled(stack: Stack) -> bool:
    busy = {"available", "executing", "scheduled", "retryable"}
    return not any(job["state"] in busy for job in jobs(stack))


async def deliver(stack: Stack, author: str, text: str) -> str:
    envelope = stack.slack.post_message(CHANNEL, author, text)
    status, body = await asyncio.to_thread(
        stack.slack.deliver, f"{stack.ingress_url}/slack/events", envelope
    )
    assert status == 200, body
    return str(envelope["event"]["ts"])


async def test_slack_events_with_pii_end_deleted_and_dmed(stack: Stack) -> None:
    sent = [(author, text, await deliver(stack, author, text)) for author, text in PII_TEXTS]
    clean_ts = await deliver(stack, *CLEAN)
    await wait_until(lambda: settled(stack), SETTLE_TIMEOUT, "all jobs final")
    assert {job["state"] for job in jobs(stack)} == {"completed"}
    for author, _, ts in sent:
        assert not stack.slack.message_exists(CHANNEL, ts)
        (dm,) = stack.slack.direct_messages(author)
        assert "I removed your message" in dm["text"]
        assert CARD not in dm["text"] and SSN not in dm["text"]
    assert stack.slack.message_exists(CHANNEL, clean_ts)
    assert stack.slack.direct_messages(CLEAN[0]) == []
    deletes = stack.slack.calls_to("chat.delete", ok=True)
    assert {c.token for c in deletes} == {"admin"} and len(deletes) == 2


def test_probes_answer_on_each_pods_own_port(stack: Stack) -> None:
    """What the Deployments' liveness/readiness probes ask (each pod on its own port here)."""
    for name in [*WORKERS.values(), INGRESS]:
        for pod in stack.pods[name]:
            port = pod.ports["PIIQ_INGRESS_PORT" if name == INGRESS else "PIIQ_METRICS_PORT"]
            for path in ("/healthz", "/readyz"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    assert r.status == 200, (pod.name, path)


def test_each_pod_holds_only_its_own_secrets(stack: Stack) -> None:
    """The internet-facing ingress holds no token that acts in Slack; workers no ingress
    secret; both the chart-generated args key; maintenance only the database URL."""
    slack = {"PIIQ_SLACK_BOT_TOKEN", "PIIQ_SLACK_ADMIN_TOKEN", "PIIQ_SLACK_SIGNING_SECRET"}
    (ingress,) = stack.pods[INGRESS]
    assert slack & set(ingress.env) == {"PIIQ_SLACK_SIGNING_SECRET"}
    for name in WORKERS.values():
        for pod in stack.pods[name]:
            assert slack & set(pod.env) == {"PIIQ_SLACK_BOT_TOKEN", "PIIQ_SLACK_ADMIN_TOKEN"}
            assert pod.env["PIIQ_ARGS_KEYS"] == ingress.env["PIIQ_ARGS_KEYS"]
    key_id, key = ingress.env["PIIQ_ARGS_KEYS"].split(":")
    assert key_id.startswith("k") and len(base64.b64decode(key)) == 32
    container = stack.children[MAINTENANCE]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    secrets = [e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert secrets == ["PIIQ_DATABASE_URL"]


async def test_killing_a_worker_mid_job_loses_nothing(stack: Stack) -> None:
    """Four message jobs reach chat.delete and wait there (the sandbox's gate), two in each
    events pod; one pod is SIGKILLed. Its jobs are orphaned ``executing`` rows."""
    events = stack.pods[WORKERS["events"]]
    before = {job["id"] for job in jobs(stack)}
    stack.slack.hold("chat.delete")
    authors = ["U0ALICE", "U0BOB", "U0CAROL", "U0ALICE"]
    sent = [await deliver(stack, a, f"card {CARD}, kill-test-{i}") for i, a in enumerate(authors)]
    await wait_until(lambda: stack.slack.waiting == 4, SETTLE_TIMEOUT, "4 jobs at chat.delete")
    holders = {job["attempted_by"][0] for job in jobs(stack) if job["id"] not in before}
    assert holders == {pod.name for pod in events}, holders  # both pods hold jobs
    victim, survivor = events
    victim.kill()
    # The victim's last heartbeat is at most 5 s old; the survivor rescues once it is older
    # than --heartbeat-timeout (30 s). Move that clock instead of sleeping 30 s: backdate
    # the dead producer's heartbeat, as if the timeout had passed.
    with stack.connect() as conn:
        conn.execute(
            f"UPDATE {PREFIX}.piiq_producers SET heartbeat_at = heartbeat_at - interval '60 s' "
            "WHERE node = %s",
            (victim.name,),
        )
    stack.slack.release()
    await wait_until(lambda: settled(stack), SETTLE_TIMEOUT, "every job final after the kill")
    new = [job for job in jobs(stack) if job["id"] not in before]
    assert [job["state"] for job in new] == ["completed"] * 4
    rescued = [job for job in new if job["attempt"] == 2]
    assert len(rescued) == 2
    for job in rescued:
        (error,) = job["errors"]
        assert error["error"].startswith(f"rescued: worker {victim.name} ")
        assert job["attempted_by"][0] == survivor.name
    for ts in sent:
        assert not stack.slack.message_exists(CHANNEL, ts)
    dms = [dm["text"] for a in set(authors) for dm in stack.slack.direct_messages(a)]
    marks = sorted(text.split("kill-test-")[1][0] for text in dms if "kill-test-" in text)
    assert marks == ["0", "1", "2", "3"]  # one DM per message: none lost, none twice


def seed_for_maintenance(stack: Stack) -> tuple[int, int]:
    """An old completed job (to prune) and a job left executing by a process nobody knows
    (to rescue): the Lifeline's case, older than the CronJob's --rescue-after 30m."""
    with Client(stack.database_url, prefix=PREFIX) as client:
        # scheduled an hour ahead, so no worker takes them before they are set up
        old, orphan = client.insert_all(
            [Canary.new(queue="default", schedule_in=3600) for _ in range(2)]
        )
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    with stack.connect() as conn:
        conn.execute(
            f"UPDATE {PREFIX}.oban_jobs SET state = 'completed', attempt = 1, "
            "attempted_at = %s, completed_at = %s WHERE id = %s",
            (long_ago, long_ago, old.id),
        )
        conn.execute(
            f"UPDATE {PREFIX}.oban_jobs SET state = 'executing', attempt = 1, max_attempts = 3, "
            "attempted_at = %s, "
            "attempted_by = ARRAY['node-gone', 'c0ffee00-0000-4000-8000-000000000000'] "
            "WHERE id = %s",
            (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2), orphan.id),
        )
    return old.id, orphan.id


async def test_maintenance_cronjob_prunes_and_rescues(stack: Stack) -> None:
    old, orphan = seed_for_maintenance(stack)
    cronjob = stack.children[MAINTENANCE]
    code, pod = await asyncio.to_thread(
        stack.kubelet.run_to_completion, cronjob, f"{MAINTENANCE}-29000000-x1", 60
    )
    assert code == 0, pod.logs()
    (summary,) = [line for line in pod.log_lines() if "pruned" in line]
    assert summary["pruned"]["completed"] >= 1 and summary["rescued"] == 1, summary
    by_id = {job["id"]: job for job in jobs(stack)}
    assert old not in by_id
    # Rescued to available, then the default queue's worker completes it.
    await wait_until(
        lambda: {j["id"]: j for j in jobs(stack)}[orphan]["state"] == "completed",
        SETTLE_TIMEOUT,
        "the rescued job completed",
    )


async def test_helm_test_hook_passes(stack: Stack) -> None:
    """The chart's test Pod (`piiq canary --queue default`): a worker completes a job."""
    code, pod = await asyncio.to_thread(
        stack.kubelet.run_to_completion, stack.test_hook, "piiq-test-database", 60
    )
    assert code == 0, pod.logs()
    assert "completed on queue 'default'" in pod.logs()


def test_logs_are_json_lines_without_text_values_or_secrets(stack: Stack) -> None:
    texts = [text for _, text in PII_TEXTS] + [CLEAN[1], CARD, SSN, "4556", "536-22"]
    for pod in stack.kubelet.pods:  # every process, the migration hook and canary too
        raw = without_clock(pod.logs())
        for needle in texts + SECRETS:
            assert needle not in raw, f"{pod.name} logged {needle!r}"
        if pod.owner in (*WORKERS.values(), INGRESS, MAINTENANCE):
            pod.log_lines()  # every line is JSON (migrate and canary print for people)
    worker_lines = [
        line for name in WORKERS.values() for p in stack.pods[name] for line in p.log_lines()
    ]
    started = [line for line in worker_lines if line.get("event") == "job.started"]
    completed = [line for line in worker_lines if line.get("event") == "job.completed"]
    assert started and completed
    for line in started + completed:
        assert {"queue", "worker", "attempt"} <= line.keys(), line
    for line in completed:
        assert isinstance(line["duration_ms"], int | float)
    assert {line["queue"] for line in completed} == {"events", "default"}
    decisions = [line for line in worker_lines if line.get("event") == "decision"]
    entities = {kind for line in decisions for kind in line["entities"]}
    assert {"CREDIT_CARD", "US_SSN"} <= entities, decisions
    assert {line["decision"] for line in decisions} >= {"delete", "allow"}
    ingress = [line for p in stack.pods[INGRESS] for line in p.log_lines()]
    assert ingress, "the ingress logged nothing"


def test_pods_stop_cleanly_on_sigterm(stack: Stack) -> None:
    running = [pod for pod in stack.kubelet.pods if pod.process.poll() is None]
    assert running
    for pod in running:
        assert pod.stop(grace=20) == 0, (
            f"{pod.name} exited {pod.process.returncode}:\n{pod.logs()[-2000:]}"
        )
