"""Point 5: signed events from the Slack sandbox reach the ingress pods through their
Service's endpoints; a message with a card number is deleted and its author DMed; `kubectl
logs deploy/pii-detector-events` (through the API server and the node's log endpoint)
shows JSON job lines and never the message text or a token."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse

import psycopg

from piiq import sandbox as sb
from piiq.runtime.argscrypt import generate
from tests.support.cluster.harness import Cluster, eventually
from tests.support.cluster.suite import (
    CARD,
    CHANNEL,
    NAMESPACE,
    PIIQUEUE,
    deliver,
    ingress_urls,
    slack_secret,
)
from tests.support.gated_slack import GatedSlackSandbox

CARD_TEXT = f"my card is {CARD}, can you book it?"
CLEAN_TEXT = "standup moved to 10:30"
PREFIX = re.compile(r"^\[pod/[^\]]+\] ")


def settled(database_url: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT state FROM oban_jobs WHERE queue = 'events'").fetchall()
    return bool(rows) and all(state == "completed" for (state,) in rows)


def test_a_card_number_is_deleted_and_its_author_dmed(
    piiqueue: Cluster, slack: GatedSlackSandbox, database_url: str
) -> None:
    urls = ingress_urls(piiqueue)
    assert len(urls) == 2
    card_ts = deliver(slack, "U0ALICE", CARD_TEXT, urls[0])
    clean_ts = deliver(slack, "U0CAROL", CLEAN_TEXT, urls[1])
    eventually(lambda: not slack.message_exists(CHANNEL, card_ts), 60, "the card message deleted")
    (dm,) = eventually(lambda: slack.direct_messages("U0ALICE"), 30, "a DM to the author")
    assert CARD not in dm["text"]
    eventually(lambda: settled(database_url), 60, "both message jobs completed")
    assert slack.message_exists(CHANNEL, clean_ts)
    assert slack.direct_messages("U0CAROL") == []


def test_worker_logs_are_json_job_lines_without_text_or_tokens(
    piiqueue: Cluster, slack: GatedSlackSandbox
) -> None:
    def job_lines() -> list[dict[str, object]]:
        logs = piiqueue.kubectl(
            "logs", f"deploy/{PIIQUEUE}-events", "-n", NAMESPACE, "--all-containers", "--tail=-1",
            "--all-pods=true",
        ).stdout  # fmt: skip
        for secret in [CARD, CARD_TEXT, CLEAN_TEXT, *slack_secret().values()]:
            assert secret not in logs
        # --all-pods puts "[pod/NAME/CONTAINER] " before each line
        lines = [json.loads(PREFIX.sub("", line)) for line in logs.splitlines() if line.strip()]
        return [line for line in lines if str(line.get("event", "")).startswith("job.")]

    lines = eventually(
        lambda: [line for line in job_lines() if line["event"] == "job.completed"],
        30,
        "job.completed lines in kubectl logs",
    )
    assert {line["queue"] for line in lines} == {"events"}


def test_an_oauth_piiqueue_serves_the_install_page_from_its_own_pods(
    piiqueue: Cluster, slack: GatedSlackSandbox
) -> None:
    """spec.slack.oauth as a user applies it: the OAuth Secret, then a PIIQueue naming it
    (no bot token in its Slack Secret). The install Deployment comes up and its Service's
    /slack/install sends the browser to Slack's authorize page (the sandbox's)."""
    installed = piiqueue
    oauth_secret = {"client-id": sb.CLIENT_ID, "client-secret": sb.CLIENT_SECRET,
                    "token-keys": generate("t1")}  # fmt: skip
    installed.kubectl(
        "create", "secret", "generic", "piiq-oauth", "-n", NAMESPACE,
        *[f"--from-literal={k}={v}" for k, v in oauth_secret.items()],
    )  # fmt: skip
    installed.kubectl(
        "create", "secret", "generic", "piiq-oauth-slack", "-n", NAMESPACE,
        f"--from-literal=signing-secret={sb.SIGNING_SECRET}",
    )  # fmt: skip
    body = {
        "apiVersion": "piiq.dev/v1alpha1",
        "kind": "PIIQueue",
        "metadata": {"name": "pii-oauth", "namespace": NAMESPACE},
        "spec": {
            "image": installed.get("piiq", PIIQUEUE, "-n", NAMESPACE)["spec"]["image"],
            "queues": {"idle": 1},  # a queue nobody fills: this test needs no worker's work
            "database": {"secretRef": {"name": "piiq-db", "key": "url"}},
            "slack": {"secretRef": {"name": "piiq-oauth-slack"},
                      "oauth": {"secretRef": {"name": "piiq-oauth"}}},
            "maintenance": {"enabled": False},
            "networkPolicy": {"enabled": True},
        },
    }  # fmt: skip
    installed.kubectl("apply", "-f", "-", stdin=json.dumps(body))
    try:
        installed.kubectl(
            "wait", "-n", NAMESPACE, "--for=condition=Ready", "piiq/pii-oauth", "--timeout=300s"
        )  # fmt: skip
        installed.kubectl(
            "wait", "-n", NAMESPACE, "--for=condition=Available", "deploy/pii-oauth-install",
            "--timeout=300s",
        )  # fmt: skip
        (url,) = eventually(
            lambda: ingress_urls(installed, "pii-oauth-install"), 60, "a ready install endpoint"
        )
        host, port = url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/slack/install")
        answer = connection.getresponse()
        assert answer.status == 302, answer.read()
        location = answer.getheader("Location") or ""
        assert location.startswith(slack.authorize_url + "?"), location
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert query["client_id"] == [sb.CLIENT_ID] and query["state"]
        connection.close()
        # The events routes are not there: the install pods verify no Slack signature.
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/slack/events", body=b"{}")
        assert connection.getresponse().status in (404, 405)
        connection.close()
    finally:
        installed.kubectl("delete", "piiq", "pii-oauth", "-n", NAMESPACE, "--wait=true")
        installed.kubectl("delete", "secret", "piiq-oauth", "piiq-oauth-slack", "-n", NAMESPACE)
