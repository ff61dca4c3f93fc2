"""Point 7: `kubectl delete pod --force` of a worker pod mid-job: the ReplicaSet replaces
it and no job is lost (its jobs are rescued by another pod and done once)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.support.cluster.harness import Cluster, eventually
from tests.support.cluster.suite import CARD, CHANNEL, NAMESPACE, deliver, ingress_urls
from tests.support.gated_slack import GatedSlackSandbox

WITHIN = 120


def jobs(database_url: str, since: int) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = conn.execute(
            "SELECT id, state, attempt, attempted_by, errors FROM oban_jobs "
            "WHERE id > %s AND queue = 'events' ORDER BY id",
            (since,),
        )
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def last_id(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        (found,) = conn.execute("SELECT coalesce(max(id), 0) FROM oban_jobs").fetchone() or (0,)
        return int(found)


def events_pods(cluster: Cluster) -> set[str]:
    pods = cluster.get("pods", "-n", NAMESPACE, "-l", "piiq.dev/queue=events")["items"]
    return {
        p["metadata"]["name"]
        for p in pods
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    }


def test_a_force_deleted_worker_pod_is_replaced_and_loses_no_job(
    piiqueue: Cluster, slack: GatedSlackSandbox, database_url: str
) -> None:
    before = last_id(database_url)
    pods_before = events_pods(piiqueue)
    url = ingress_urls(piiqueue)[0]
    slack.hold("chat.delete")
    try:
        sent = [deliver(slack, "U0BOB", f"card {CARD}, kill-test-{i}", url) for i in range(4)]
        eventually(lambda: slack.waiting == 4, WITHIN, "4 jobs waiting at chat.delete")
        holders = {job["attempted_by"][0] for job in jobs(database_url, before)}
        victim = sorted(holders)[0]
        assert victim in pods_before, (victim, pods_before)
        piiqueue.kubectl("delete", "pod", victim, "-n", NAMESPACE, "--force", "--grace-period=0")
        # The object is gone at once; the node kills its processes on its next look.
        eventually(lambda: piiqueue.agent.find(NAMESPACE, victim) is None, WITHIN, "killed")
    finally:
        slack.release()

    def replaced() -> bool:
        now = events_pods(piiqueue)
        return victim not in now and len(now) == len(pods_before)

    eventually(replaced, WITHIN, "the ReplicaSet replaced the deleted pod")
    settled = eventually(
        lambda: (
            (found := jobs(database_url, before))
            and all(job["state"] == "completed" for job in found)
            and found
        ),
        WITHIN,
        "every job completed",
    )
    assert len(settled) == 4
    rescued = [job for job in settled if job["attempted_by"][0] != victim and job["attempt"] == 2]
    assert rescued, settled  # the victim's jobs ran again elsewhere
    for job in rescued:
        assert job["errors"][0]["error"].startswith(f"rescued: worker {victim} "), job["errors"]
    for ts in sent:
        assert not slack.message_exists(CHANNEL, ts)
    marks = sorted(
        dm["text"].split("kill-test-")[1][0]
        for dm in slack.direct_messages("U0BOB")
        if "kill-test-" in dm["text"]
    )
    assert marks == ["0", "1", "2", "3"]  # one DM per message: none lost, none twice
