"""Names and steps the cluster suite's files share: the release, the example PIIQueue, the
Secrets a user creates for it, and sending Slack events to the ingress Service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from piiq import sandbox as sb
from tests.support.cluster.harness import Cluster
from tests.support.gated_slack import GatedSlackSandbox

REPO = Path(__file__).parents[3]
NAMESPACE = "piiq"  # the chart's release namespace, and the PIIQueue's
RELEASE = "piiq"
OPERATOR = f"{RELEASE}-operator"  # the chart's Deployment
SERVICE_ACCOUNT = RELEASE  # the chart's ServiceAccount (its fullname)
PIIQUEUE = "pii-detector"
EXAMPLE = REPO / "examples" / "piiqueue.yaml"
CHANNEL = "C0GENERAL"
CARD = "4556 7375 8689 9855"


def chart_values(slack: GatedSlackSandbox) -> dict[str, Any]:
    """What a user passes to `helm install`: the operator pointed at the Slack sandbox."""
    return {
        "operator": {"slackApiUrl": slack.base_url, "interval": 3},
        "argsEncryption": {"generate": True},
    }


def slack_secret() -> dict[str, str]:
    """The keys of examples/piiq-secrets.example.yaml's piiq-slack, with the sandbox's values."""
    return {
        "bot-token": sb.BOT_TOKEN,
        "signing-secret": sb.SIGNING_SECRET,
        "admin-token": sb.ADMIN_TOKEN,
    }


def ingress_urls(cluster: Cluster, service: str = f"{PIIQUEUE}-ingress") -> list[str]:
    """Every ready endpoint of the ingress Service (or another), as the Service would
    route to them (each through a loopback port forwarded into the node's network)."""
    slices = cluster.get(
        "endpointslices", "-n", NAMESPACE, "-l", f"kubernetes.io/service-name={service}"
    )["items"]
    return [
        f"http://{cluster.agent.reach(endpoint['addresses'][0], port['port'])}"
        for piece in slices
        for port in piece.get("ports") or []
        for endpoint in piece.get("endpoints") or []
        if endpoint["conditions"].get("ready")
    ]


def deliver(slack: GatedSlackSandbox, author: str, text: str, via: str) -> str:
    """A signed message event posted to the ingress at ``via``; returns the message's ts."""
    envelope = slack.post_message(CHANNEL, author, text)
    status, body = slack.deliver(f"{via}/slack/events", envelope)
    assert status == 200, body
    return str(envelope["event"]["ts"])
