"""Socket Mode feeds the same intake: an envelope over the WebSocket becomes one job and
is acknowledged only after it is stored."""

from __future__ import annotations

import asyncio

from piiq import sandbox as sb
from piiq.queue import Client
from piiq.slack.ingress import serve_socket_mode
from piiq.slack.intake import EventIntake
from tests.support.queue_helpers import wait_for

from .conftest import CHANNEL


def count_jobs(client: Client) -> int:
    with client.connect() as conn:
        return conn.execute(f'SELECT count(*) FROM "{client.prefix}".oban_jobs').fetchone()[0]


async def test_socket_mode_enqueues_and_acks(slack: sb.SlackSandbox, slack_client: Client) -> None:
    client = Client(slack_client.database_url, prefix=slack_client.prefix)
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_socket_mode(EventIntake(client), sb.APP_TOKEN, slack.base_url, stop)
    )
    try:
        envelope = slack.post_message(CHANNEL, "U0ALICE", "hello over a socket")
        first = slack.push_socket_event(envelope)
        again = slack.push_socket_event(envelope)  # redelivered: still one job
        await wait_for(lambda: {first, again} <= set(slack.socket_acks), within=15)
        assert count_jobs(slack_client) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.aclose()
