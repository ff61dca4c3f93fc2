"""Point 5: signed events from the Slack sandbox reach the ingress pods through their
Service's endpoints; a message with a card number is deleted and its author DMed; `kubectl
logs deploy/pii-detector-events` (through the API server and the node's log endpoint)
shows JSON job lines and never the message text or a token."""

from __future__ import annotations

import json
import re

import psycopg
from gated_slack import GatedSlackSandbox
from harness import Cluster, eventually
from suite import CARD, CHANNEL, NAMESPACE, PIIQUEUE, deliver, ingress_urls, slack_secret

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
