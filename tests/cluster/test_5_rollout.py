"""Point 6, continued: the queue's global limit holds over every pod, also while a rollout
runs old and new pods together: `queues: {events: 20}` means at most 20 `events` jobs
executing at once.

A PIIQueue change (extra env) rolls the Deployments while a steady stream of messages with
a card number arrives, each job held about 4 s at Slack's `chat.delete`; a sampler counts
the executing rows and the ReplicaSets' ready pods throughout. The rollout must run old
and new pods at once with more room than the limit (per-pod limits adding up past 20),
the count must reach the limit then, and never pass it; no message may be lost."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import psycopg

from tests.support.cluster.harness import Cluster, eventually
from tests.support.cluster.suite import CARD, CHANNEL, NAMESPACE, PIIQUEUE, ingress_urls
from tests.support.gated_slack import GatedSlackSandbox

QUEUE = "events"
DEPLOYMENT = f"{PIIQUEUE}-events"
GLOBAL_LIMIT = 20  # examples/piiqueue.yaml: queues.events
PER_POD = 7  # ceil(20 / 3 pods): three pods could run 21, a fourth in a rollout 28
SLOW_DELETE_S = 4.0  # each job takes at least this long: 20 at once do 5 jobs/s
RATE = 6.0  # messages/s delivered: more than the limit lets through, so a backlog waits
WITHIN = 300


@dataclass(frozen=True)
class Sample:
    executing: int
    ready: dict[str, int]  # ReplicaSet -> its ready pods, for those with any


class Background(threading.Thread):
    """A loop beside the test, until ``stop``; what it raised is kept for the test."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self.loop()
        except BaseException as exc:  # a thread's failure must not let the test pass
            self.error = exc

    def loop(self) -> None:
        raise NotImplementedError


class Sampler(Background):
    """The queue's executing rows, counted every 20 ms on a connection of its own, each
    count with the Deployment's ReplicaSets as last read (every 100 ms, by the suite's
    admin client, which this thread alone uses meanwhile)."""

    def __init__(self, cluster: Cluster, database_url: str) -> None:
        super().__init__("rollout-sampler")
        self.cluster, self.database_url = cluster, database_url
        self.samples: list[Sample] = []

    def loop(self) -> None:
        query = "SELECT count(*) FROM oban_jobs WHERE state = 'executing' AND queue = %s"
        path = f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets"
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                sets = self.cluster.admin.get(path, labelSelector=f"piiq.dev/queue={QUEUE}")
                ready = {
                    rs["metadata"]["name"]: rs["status"]["readyReplicas"]
                    for rs in sets["items"]
                    if rs["status"].get("readyReplicas")
                }
                for _ in range(5):
                    (executing,) = conn.execute(query, (QUEUE,)).fetchone() or (0,)
                    self.samples.append(Sample(executing, ready))
                    time.sleep(0.02)


class Stream(Background):
    """Messages with a card, each from a person of its own, delivered at RATE through the
    ingress Service's ready endpoints (read again when one goes away: the ingress rolls
    too), each until it is accepted, as Slack retries."""

    def __init__(self, cluster: Cluster, slack: GatedSlackSandbox) -> None:
        super().__init__("message-stream")
        self.cluster, self.slack = cluster, slack
        self.sent: list[tuple[str, str]] = []  # (author, ts)

    def loop(self) -> None:
        urls = ingress_urls(self.cluster)
        began = time.monotonic()
        while not self.stop.is_set():
            n = len(self.sent)
            author = f"U0ROLL{n:05d}"
            self.slack.add_user(author, f"roll-{n}")
            envelope = self.slack.post_message(CHANNEL, author, f"card {CARD}, roll-{n}")
            for _ in range(60):
                try:
                    status, _ = self.slack.deliver(f"{urls[n % len(urls)]}/slack/events", envelope)
                except OSError:
                    status = 0
                if status == 200:
                    break
                time.sleep(0.5)
                urls = ingress_urls(self.cluster) or urls
            else:
                raise AssertionError(f"message {n} not accepted by any ingress pod")
            self.sent.append((author, str(envelope["event"]["ts"])))
            time.sleep(max(0.0, began + (n + 1) / RATE - time.monotonic()))


def worker_args(cluster: Cluster) -> list[str]:
    deployment = cluster.get("deployment", "-n", NAMESPACE, DEPLOYMENT)
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def rolled_out(cluster: Cluster, generation: int) -> bool:
    status = cluster.get("deployment", "-n", NAMESPACE, DEPLOYMENT)
    s, want = status["status"], status["spec"]["replicas"]
    return (
        status["metadata"]["generation"] > generation
        and s.get("observedGeneration", 0) >= status["metadata"]["generation"]
        and s.get("updatedReplicas") == s.get("readyReplicas") == s.get("replicas") == want
    )


def last_id(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        (found,) = conn.execute("SELECT coalesce(max(id), 0) FROM oban_jobs").fetchone() or (0,)
    return int(found)


def states(database_url: str, since: int) -> dict[str, int]:
    """The test's jobs (ids after ``since``) by state."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM oban_jobs WHERE queue = %s AND id > %s GROUP BY state",
            (QUEUE, since),
        ).fetchall()
    return {state: count for state, count in rows}


def test_the_global_limit_holds_while_old_and_new_pods_run_together(
    piiqueue: Cluster, slack: GatedSlackSandbox, database_url: str
) -> None:
    assert f"{QUEUE}={PER_POD}/{GLOBAL_LIMIT}" in worker_args(piiqueue)
    before = last_id(database_url)
    generation = piiqueue.get("deployment", "-n", NAMESPACE, DEPLOYMENT)["metadata"]["generation"]
    sampler, stream = Sampler(piiqueue, database_url), Stream(piiqueue, slack)
    slack.slow("chat.delete", SLOW_DELETE_S)
    try:
        sampler.start()
        stream.start()
        # A backlog first: the limit is the bound before the rollout begins.
        eventually(
            lambda: states(database_url, before).get("available", 0) >= 10, WITHIN, "a backlog"
        )
        env = [{"name": "MALLOC_ARENA_MAX", "value": "2"}]  # a tuning change: every pod rolls
        piiqueue.kubectl(
            "patch", "piiq", PIIQUEUE, "-n", NAMESPACE, "--type=merge",
            "-p", json.dumps({"spec": {"env": env}}),
        )  # fmt: skip
        eventually(lambda: rolled_out(piiqueue, generation), WITHIN, "the rollout finished", 1)
        stream.stop.set()
        stream.join(60)
        assert stream.error is None, stream.error
        eventually(
            lambda: set(states(database_url, before)) == {"completed"},
            WITHIN,
            "every job completed",
            1,
        )
    finally:
        stream.stop.set()
        sampler.stop.set()
        sampler.join(30)
        slack.slow("chat.delete", 0)

    assert sampler.error is None, sampler.error
    samples = sampler.samples
    overlap = [s for s in samples if len(s.ready) >= 2]
    assert max(s.executing for s in samples) <= GLOBAL_LIMIT, max(s.executing for s in samples)
    # Not by luck: old and new pods were ready at once, with room for more than the limit,
    # and the limit was reached then.
    assert overlap, "old and new pods never ran together: the test proves nothing"
    assert max(sum(s.ready.values()) for s in overlap) * PER_POD > GLOBAL_LIMIT
    assert max(s.executing for s in overlap) == GLOBAL_LIMIT
    # Nothing lost: every message deleted and its author told once.
    assert len(stream.sent) >= 100
    assert [ts for _, ts in stream.sent if slack.message_exists(CHANNEL, ts)] == []
    assert all(len(slack.direct_messages(author)) == 1 for author, _ in stream.sent)
    print(
        f"{len(samples)} samples, {len(overlap)} while old and new pods were ready; "
        f"{len(stream.sent)} messages; executing at most "
        f"{max(s.executing for s in samples)} (limit {GLOBAL_LIMIT}), up to "
        f"{max(sum(s.ready.values()) for s in overlap)} pods ready at once"
    )
