"""The operator in-process (real kopf) against the Kubernetes emulator over HTTP."""

from __future__ import annotations

from typing import TypeVar

from piiq.queue import Client, Job, Worker
from tests.operator.operator_helpers import (
    CRONJOBS,
    DEPLOYMENTS,
    PIIQ,
    SERVICES,
    Cluster,
    eventually,
    piiqueue,
)

T = TypeVar("T")


def replicas(cluster: Cluster, name: str) -> int:
    return cluster.get(DEPLOYMENTS, name)["spec"]["replicas"]


async def test_create_scale_remove_restore_delete(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"default": 10, "events": 20, "pii_detection": 5}))

    def created() -> None:
        assert cluster.names(DEPLOYMENTS) == {"pii-default", "pii-events", "pii-pii-detection"}
        assert cluster.names(CRONJOBS) == {"pii-maintenance"}

    await eventually(created)
    assert replicas(cluster, "pii-events") == 3  # ceil(20 / 8)
    events = cluster.get(DEPLOYMENTS, "pii-events")
    assert events["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "worker", "--queue", "events=7/20",
    ]  # fmt: skip
    owner = events["metadata"]["ownerReferences"][0]
    assert (
        owner["kind"] == "PIIQueue" and owner["uid"] == cluster.get(PIIQ, "pii")["metadata"]["uid"]
    )

    # Edit concurrency -> scaled.
    await cluster.patch("pii", {"spec": {"queues": {"events": 40}}})
    await eventually(lambda: assert_equal(replicas(cluster, "pii-events"), 5))

    # Remove a queue -> its Deployment is deleted.
    await cluster.patch("pii", {"spec": {"queues": {"pii_detection": None}}})
    await eventually(lambda: assert_equal(cluster.gone(DEPLOYMENTS, "pii-pii-detection"), True))
    assert cluster.names(DEPLOYMENTS) == {"pii-default", "pii-events"}

    # Delete or hand-scale a child -> restored by the timer.
    await cluster.call(cluster.apps.delete_namespaced_deployment, "pii-default", "default")
    await cluster.call(
        cluster.apps.patch_namespaced_deployment, "pii-events", "default", {"spec": {"replicas": 1}}
    )
    await eventually(lambda: assert_equal(replicas(cluster, "pii-default"), 2))
    await eventually(lambda: assert_equal(replicas(cluster, "pii-events"), 5))

    # Delete the PIIQueue -> the children are collected.
    await cluster.delete("pii")
    await eventually(
        lambda: assert_equal(cluster.names(DEPLOYMENTS) | cluster.names(CRONJOBS), set())
    )


def assert_equal(actual: object, expected: object) -> None:
    assert actual == expected, f"{actual!r} != {expected!r}"


def assert_in(part: str, whole: str) -> None:
    assert part in whole, f"{part!r} not in {whole!r}"


def events_for(cluster: Cluster, name: str) -> list[dict[str, object]]:
    return [
        e for _, _, e in cluster.emulator.live("v1/events") if e["involvedObject"]["name"] == name
    ]


async def test_invalid_spec_is_degraded_and_others_keep_working(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    bad = piiqueue("bad", {"events": 0})
    bad["spec"]["replicas"] = 3
    await cluster.create(bad)
    await cluster.create(piiqueue("good", {"events": 8}))

    degraded = await eventually(lambda: check(cluster.condition("bad", "Degraded"), "True"))
    assert degraded["reason"] == "InvalidSpec"
    assert "spec.queues.events is 0: set a number from 1 to 1000" in degraded["message"]
    assert "spec.replicas is not a known field: remove it" in degraded["message"]
    assert check(cluster.condition("bad", "Ready"), "False")["reason"] == "InvalidSpec"
    warnings = await eventually(lambda: nonempty(events_for(cluster, "bad")))
    assert warnings[0]["type"] == "Warning" and warnings[0]["reason"] == "InvalidSpec"
    assert "spec.queues.events is 0" in warnings[0]["message"]
    await eventually(lambda: assert_equal(replicas(cluster, "good-events"), 1))
    assert not any(n.startswith("bad-") for n in cluster.names(DEPLOYMENTS))

    # The timer keeps the same problem quiet: one warning, not one per reconcile.
    await cluster.patch("good", {"spec": {"queues": {"events": 16}}})
    await eventually(lambda: assert_equal(replicas(cluster, "good-events"), 2))
    assert len(events_for(cluster, "bad")) == 1

    # Fixed -> reconciled.
    await cluster.patch("bad", {"spec": {"queues": {"events": 4}, "replicas": None}})
    await eventually(lambda: check(cluster.condition("bad", "Degraded"), "False"))
    assert replicas(cluster, "bad-events") == 1


async def test_missing_secret_then_created_and_backlog_unknown(operator: Cluster) -> None:
    cluster = operator
    cluster.emulator.ready_deployments = True
    await cluster.create(piiqueue("pii"))
    degraded = await eventually(lambda: check(cluster.condition("pii", "Degraded"), "True"))
    assert degraded["reason"] == "SecretMissing"
    assert "Secret 'piiq-db' (spec.database.secretRef) does not exist" in degraded["message"]
    assert cluster.names(DEPLOYMENTS) == set()

    await cluster.secrets()  # a URL that refuses connections: backlog unknown, not an error
    ready = await eventually(lambda: check(cluster.condition("pii", "Ready"), "True"))
    assert ready["reason"] == "AllWorkersReady"
    status = cluster.get(PIIQ, "pii")["status"]
    assert check(cluster.condition("pii", "Degraded"), "False")
    assert status["workers"] == "5/5" and status["queueNames"] == "default,events"
    assert status["observedGeneration"] == cluster.get(PIIQ, "pii")["metadata"]["generation"]
    assert "backlog" not in status
    assert status["backlogError"].startswith("Backlog unknown: database unreachable")
    assert "127.0.0.1:1" not in status["backlogError"] and "nobody" not in status["backlogError"]


class Scan(Worker):
    queue = "events"

    def perform(self, job: Job) -> None:
        pass


async def test_backlog_from_the_database_drives_status_and_autoscaling(
    operator: Cluster, queue_client: Client, queue_database_url: str, queue_prefix: str
) -> None:
    cluster = operator
    cluster.emulator.ready_deployments = True
    queue_client.insert_all([Scan.new({"i": i}) for i in range(7)])
    queue_client.insert_all([Scan.new({"i": i}, queue="default") for i in range(2)])
    await cluster.secrets(queue_database_url)
    body = piiqueue(
        "pii",
        {"default": 10, "events": 40},
        queuePrefix=queue_prefix,
        autoscaling={
            "enabled": True,
            "queues": {"events": {"maxReplicas": 5, "targetBacklogPerPod": 2}},
        },
    )
    await cluster.create(body)

    def backlog() -> dict[str, object]:
        status = cluster.get(PIIQ, "pii")["status"]
        assert status.get("backlog") == 9, status
        return status

    status = await eventually(backlog)
    events = next(q for q in status["queues"] if q["name"] == "events")
    assert (events["backlog"], events["executing"], events["autoscaled"]) == (7, 0, True)
    await eventually(lambda: assert_equal(replicas(cluster, "pii-events"), 4))  # ceil(7 / 2)
    assert replicas(cluster, "pii-default") == 1  # 2 jobs, 50 per pod, at least 1
    # Every pod of events runs ceil(40 / 5) = 8 whatever the replica count.
    args = cluster.get(DEPLOYMENTS, "pii-events")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert args == ["worker", "--queue", "events=8/40"]


def check(condition: dict[str, object], status: str) -> dict[str, object]:
    assert condition["status"] == status, condition
    return condition


def nonempty(items: list[T]) -> list[T]:
    assert items
    return items


def worker_args(cluster: Cluster, name: str) -> list[str]:
    return cluster.get(DEPLOYMENTS, name)["spec"]["template"]["spec"]["containers"][0]["args"]


async def test_ready_waits_for_a_rollout_and_a_stalled_one_is_degraded(operator: Cluster) -> None:
    cluster = operator
    cluster.emulator.ready_deployments = True
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"events": 8}))
    await eventually(lambda: check(cluster.condition("pii", "Ready"), "True"))

    # The Deployment controller falls behind: the new image is not rolled out yet.
    cluster.emulator.ready_deployments = False
    await cluster.patch("pii", {"spec": {"image": "registry.test/piiq:0.2.0"}})
    ready = await eventually(lambda: check(cluster.condition("pii", "Ready"), "False"))
    assert "events 1/1 ready, rollout in progress" in ready["message"]
    assert check(cluster.condition("pii", "Progressing"), "True")["reason"] == "ScalingWorkers"

    # The controller gives up on the rollout: Degraded names the Deployment.
    stalled = {
        "status": {
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": 'ReplicaSet "pii-events-5d8f7c" has timed out progressing.',
                }
            ]
        }
    }
    await cluster.call(
        cluster.apps.patch_namespaced_deployment_status, "pii-events", "default", stalled
    )
    degraded = await eventually(lambda: check(cluster.condition("pii", "Degraded"), "True"))
    assert degraded["reason"] == "RolloutStalled"
    assert "Deployment pii-events exceeded its progress deadline" in degraded["message"]

    # Rolled out at last.
    await cluster.emulator.roll_out_deployments()
    await eventually(lambda: check(cluster.condition("pii", "Ready"), "True"))
    assert check(cluster.condition("pii", "Degraded"), "False")


async def test_socket_mode_ingress_without_a_signing_secret(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"events": 8}, ingress={"enabled": True}))
    await eventually(lambda: assert_equal(cluster.names(SERVICES), {"pii-ingress"}))
    # The children are applied at once: the Service can land before the Deployment.
    await eventually(lambda: assert_equal(worker_args(cluster, "pii-ingress"), ["ingress"]))

    # The Slack app switches to Socket Mode: an app-level token, no signing secret.
    slack = {"bot-token": "xoxb-test", "app-token": "xapp-test"}
    await cluster.call(cluster.core.delete_namespaced_secret, "piiq-slack", "default")
    await cluster.secret("piiq-slack", slack)
    await eventually(
        lambda: assert_equal(worker_args(cluster, "pii-ingress"), ["ingress", "--socket-mode"])
    )
    await eventually(lambda: assert_equal(cluster.names(SERVICES), set()))  # stale one deleted
    # The status of the reconcile that applied this lands just after its children.
    await eventually(lambda: check(cluster.condition("pii", "Degraded"), "False"))


async def test_a_queue_renamed_onto_the_same_deployment_is_updated_in_place(
    operator: Cluster,
) -> None:
    """Selectors are immutable (the emulator refuses a change as the API server does)."""
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"pii_detection": 5}))
    await eventually(lambda: assert_equal(cluster.names(DEPLOYMENTS), {"pii-pii-detection"}))
    uid = cluster.get(DEPLOYMENTS, "pii-pii-detection")["metadata"]["uid"]

    await cluster.patch("pii", {"spec": {"queues": {"pii_detection": None, "pii-detection": 5}}})
    await eventually(
        lambda: assert_equal(
            worker_args(cluster, "pii-pii-detection"), ["worker", "--queue", "pii-detection=5/5"]
        )
    )
    assert cluster.get(DEPLOYMENTS, "pii-pii-detection")["metadata"]["uid"] == uid
    assert check(cluster.condition("pii", "Degraded"), "False")


async def test_a_deployment_with_an_old_selector_is_replaced(operator: Cluster) -> None:
    """A Deployment made by an operator that selected on more labels cannot be patched."""
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"events": 8}))
    await eventually(lambda: assert_equal(cluster.names(DEPLOYMENTS), {"pii-events"}))
    current = cluster.get(DEPLOYMENTS, "pii-events")
    uid, selector = current["metadata"]["uid"], dict(current["spec"]["selector"]["matchLabels"])
    old = {**selector, "piiq.dev/queue": "events", "app.kubernetes.io/part-of": "piiq"}
    cluster.emulator.objects[DEPLOYMENTS, "default", "pii-events"].patch(
        {"spec": {"selector": {"matchLabels": old}}}
    )

    def replaced() -> None:
        now = cluster.get(DEPLOYMENTS, "pii-events")
        assert now["metadata"]["uid"] != uid
        assert now["spec"]["selector"]["matchLabels"] == selector

    await eventually(replaced)
    assert check(cluster.condition("pii", "Degraded"), "False")


PDBS = "policy/v1/poddisruptionbudgets"


async def test_disruption_budgets_follow_the_deployments(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", {"events": 8, "default": 2}, ingress={"enabled": True}))
    await eventually(
        lambda: assert_equal(cluster.names(PDBS), {"pii-events", "pii-default", "pii-ingress"})
    )
    await eventually(lambda: assert_equal(cluster.names(DEPLOYMENTS), cluster.names(PDBS)))
    budget = cluster.get(PDBS, "pii-events")
    selector = cluster.get(DEPLOYMENTS, "pii-events")["spec"]["selector"]
    assert budget["spec"]["selector"] == selector and budget["spec"]["maxUnavailable"] == 1
    await cluster.patch("pii", {"spec": {"disruptionBudget": {"enabled": False}}})
    await eventually(lambda: assert_equal(cluster.names(PDBS), set()))


NETWORK_POLICIES = "networking.k8s.io/v1/networkpolicies"


async def test_network_policies_come_and_go_with_the_spec(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    network = {"enabled": True}
    await cluster.create(piiqueue("pii", {"events": 8}, ingress={"enabled": True}))
    await eventually(
        lambda: assert_equal(cluster.names(DEPLOYMENTS), {"pii-events", "pii-ingress"})
    )
    assert cluster.names(NETWORK_POLICIES) == set()
    await cluster.patch("pii", {"spec": {"networkPolicy": network}})
    await eventually(
        lambda: assert_equal(
            cluster.names(NETWORK_POLICIES), {"pii-workers", "pii-ingress", "pii-maintenance"}
        )
    )
    await cluster.patch("pii", {"spec": {"networkPolicy": {"enabled": False}}})
    await eventually(lambda: assert_equal(cluster.names(NETWORK_POLICIES), set()))


async def test_oauth_install_pages_run_apart_once_their_secret_is_whole(operator: Cluster) -> None:
    """spec.slack.oauth: the Slack Secret needs no bot token; the OAuth Secret must hold
    client-id, client-secret and token-keys before anything runs (a pod would otherwise
    wait in CreateContainerConfigError); then the install Deployment and Service come up
    beside the events ingress, and go when OAuth is turned off."""
    cluster = operator
    await cluster.secret("piiq-db", {"url": "postgresql://nobody@127.0.0.1:1/none"})
    await cluster.secret("piiq-slack", {"signing-secret": "s3cr3t"})  # no bot token
    oauth = {"secretRef": {"name": "piiq-slack-oauth"}}
    slack = {"secretRef": {"name": "piiq-slack"}, "oauth": oauth}
    await cluster.create(piiqueue("pii", {"events": 8}, ingress={"enabled": True}, slack=slack))
    degraded = await eventually(lambda: check(cluster.condition("pii", "Degraded"), "True"))
    assert degraded["reason"] == "SecretMissing"
    assert "'piiq-slack-oauth' (spec.slack.oauth.secretRef) does not exist" in degraded["message"]
    assert cluster.names(DEPLOYMENTS) == set()

    await cluster.secret("piiq-slack-oauth", {"client-id": "1.2", "client-secret": "s"})
    await eventually(
        lambda: assert_in(
            "has no key 'token-keys'", cluster.condition("pii", "Degraded")["message"]
        )
    )
    await cluster.call(cluster.core.delete_namespaced_secret, "piiq-slack-oauth", "default")
    whole = {"client-id": "1.2", "client-secret": "s", "token-keys": "t1:x"}
    await cluster.secret("piiq-slack-oauth", whole)
    await eventually(
        lambda: assert_equal(
            cluster.names(DEPLOYMENTS), {"pii-events", "pii-ingress", "pii-install"}
        )
    )
    await eventually(lambda: assert_equal(cluster.names(SERVICES), {"pii-ingress", "pii-install"}))
    assert worker_args(cluster, "pii-install") == ["ingress", "--routes", "install"]
    assert worker_args(cluster, "pii-ingress") == ["ingress", "--routes", "events"]
    await eventually(lambda: check(cluster.condition("pii", "Degraded"), "False"))

    # OAuth off again: the install pages go, and the bot token is required once more.
    await cluster.patch("pii", {"spec": {"slack": {"oauth": None}}})
    degraded = await eventually(lambda: check(cluster.condition("pii", "Degraded"), "True"))
    assert "has no key 'bot-token'" in degraded["message"]
