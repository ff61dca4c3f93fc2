"""A PIIQueue cannot take tokens elsewhere, switch enforcement off, run a foreign image or
take over objects it does not own: the operator in-process (real kopf) against the
Kubernetes emulator over HTTP."""

from __future__ import annotations

from typing import Any

from piiq_operator.manifests import Owner, labels
from tests.operator.operator_helpers import (
    DEPLOYMENTS,
    NS,
    PIIQ,
    SERVICES,
    Cluster,
    eventually,
    piiqueue,
)


def degraded(cluster: Cluster, name: str, reason: str) -> str:
    condition = cluster.condition(name, "Degraded")
    assert condition["status"] == "True" and condition["reason"] == reason, condition
    return str(condition["message"])


def foreign(kind: str, name: str) -> dict[str, Any]:
    """An object someone else made, with a name the operator would give a child (and even
    the operator's labels: only an ownerReference to the PIIQueue makes it the operator's)."""
    meta = {"name": name, "namespace": NS, "labels": labels(Owner("pii", NS, "x"), "ingress")}
    if kind == "Service":
        return {"metadata": meta, "spec": {"ports": [{"port": 8080}], "selector": {"app": "mine"}}}
    pod = {"containers": [{"name": "mine", "image": "nginx:1"}]}
    return {
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "mine"}},
            "template": {"metadata": {"labels": {"app": "mine"}}, "spec": pod},
        },
    }


async def test_env_that_moves_tokens_or_stops_enforcement_is_degraded(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    env = [{"name": "PIIQ_SLACK_API_URL", "value": "https://attacker.example/api/"}]
    await cluster.create(piiqueue("pii", env=env))
    message = await eventually(lambda: degraded(cluster, "pii", "InvalidSpec"))
    assert "spec.env[0]: PIIQ_SLACK_API_URL is set by the operator" in message
    assert cluster.names(DEPLOYMENTS) == set()  # nothing runs with the attacker's URL

    await cluster.patch("pii", {"spec": {"env": [{"name": "PIIQ_DRY_RUN", "value": "true"}]}})
    message = await eventually(
        lambda: assert_in("PIIQ_DRY_RUN", degraded(cluster, "pii", "InvalidSpec"))
    )
    assert "may not be set by a PIIQueue (it switches deletion and notices off)" in message

    await cluster.patch("pii", {"spec": {"env": [{"name": "PIIQ_LOG_LEVEL", "value": "debug"}]}})
    await eventually(lambda: assert_in("pii-events", cluster.names(DEPLOYMENTS)))


async def test_an_image_outside_the_allowed_repositories_is_refused(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.create(piiqueue("pii", image="docker.io/attacker/piiq:latest"))
    message = await eventually(lambda: degraded(cluster, "pii", "ImageNotAllowed"))
    assert message == (
        "spec.image 'docker.io/attacker/piiq:latest' is refused: repository "
        "'docker.io/attacker/piiq' is not among the repositories this operator allows "
        "(registry.test/piiq, localhost/piiq); use one of them or ask the operator's "
        "installer to add it (chart value operator.allowedImageRepositories)"
    )
    assert cluster.names(DEPLOYMENTS) == set()
    await cluster.patch("pii", {"spec": {"image": "registry.test/piiq:0.2.0"}})
    await eventually(lambda: assert_in("pii-events", cluster.names(DEPLOYMENTS)))


async def test_objects_it_does_not_own_are_not_taken_over(operator: Cluster) -> None:
    cluster = operator
    await cluster.secrets()
    await cluster.call(
        cluster.core.create_namespaced_service, NS, foreign("Service", "pii-ingress")
    )
    await cluster.call(
        cluster.apps.create_namespaced_deployment, NS, foreign("Deployment", "pii-events")
    )
    await cluster.create(piiqueue("pii", ingress={"enabled": True}))
    message = await eventually(lambda: degraded(cluster, "pii", "NotOwned"))
    assert message.startswith(
        "Deployment default/pii-events, Service default/pii-ingress already exist and are not "
        "owned by PIIQueue 'pii': the operator does not take over objects it did not create"
    ), message
    for resource, name in ((SERVICES, "pii-ingress"), (DEPLOYMENTS, "pii-events")):
        untouched = cluster.get(resource, name)
        assert "ownerReferences" not in untouched["metadata"], untouched["metadata"]
    assert cluster.get(SERVICES, "pii-ingress")["spec"]["ports"] == [{"port": 8080}]
    assert "pii-default" not in cluster.names(DEPLOYMENTS)  # nothing applied meanwhile

    # Once the owner moves theirs out of the way, the operator creates its own.
    await cluster.call(cluster.core.delete_namespaced_service, "pii-ingress", NS)
    await cluster.call(cluster.apps.delete_namespaced_deployment, "pii-events", NS)
    await eventually(lambda: assert_in("pii-ingress", cluster.names(SERVICES)))
    uid = cluster.get(PIIQ, "pii")["metadata"]["uid"]
    mine = await eventually(
        lambda: cluster.get(DEPLOYMENTS, "pii-events")["metadata"]["ownerReferences"]
    )
    assert mine[0]["uid"] == uid
    await eventually(lambda: assert_in("Degraded", not_degraded(cluster, "pii")))


def not_degraded(cluster: Cluster, name: str) -> str:
    condition = cluster.condition(name, "Degraded")
    assert condition["status"] == "False", condition
    return "Degraded"


def assert_in(item: str, container: Any) -> str:
    assert item in container, f"{item!r} not in {container!r}"
    return str(container)
