"""Slack's rate limits shared through PostgreSQL: one worker's 429 holds the method for
all of them until Retry-After, so a workspace's limit is found once, not by every worker.

Each runner below stands for a pod: its own Client (connections), its own worker
instances and so its own SlackContext and in-process cache; they share only PostgreSQL
and the sandbox, whose per-method limit answers 429 with Retry-After as Slack does."""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack

import psycopg
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from piiq import sandbox as sb
from piiq.cli import main
from piiq.queue import Client
from piiq.runtime.settings import Settings
from piiq.slack.api import SlackApi, SlackCallFailed
from piiq.slack.ratelimits import SharedRateLimits, scope_of
from tests.support.pii_samples import CARD
from tests.support.queue_helpers import running, wait_for

from .conftest import CHANNEL
from .test_flow import jobs, send, settled

RUNNERS = 3
PER_RUNNER = 2
MESSAGES = 30
LIMIT = 5  # chat.delete calls per window, in the whole workspace
WINDOW = 1.0  # seconds
# Calls already past their check when a window's first 429 is recorded get one too: at
# most one per job running then. Each worker finding the limit alone costs one per job
# that tries while the window is full: nearly every waiting job, every window.
MOST_PER_WINDOW = RUNNERS * PER_RUNNER


def pod_api(slack: sb.SlackSandbox, client: Client) -> SlackApi:
    """One pod's Slack API for one job: real slack_sdk clients, its own process cache."""
    api = SlackApi(slack.base_url, SecretStr(sb.BOT_TOKEN), SecretStr(sb.ADMIN_TOKEN))
    return api.within(SharedRateLimits().workspace(client, sb.TEAM_ID))


def delete(api: SlackApi, ts: str) -> SlackCallFailed | None:
    try:
        api.call(api.admin, "chat.delete", channel=CHANNEL, ts=ts)
    except SlackCallFailed as exc:
        return exc
    return None


def test_one_pods_429_holds_the_method_in_every_pod(
    slack: sb.SlackSandbox, slack_client: Client
) -> None:
    slack.limit("chat.delete", 1, per=60)
    first, second, third = (slack.post_message(CHANNEL, "U0BOB", "hi") for _ in range(3))
    pod_a, pod_b = pod_api(slack, slack_client), pod_api(slack, slack_client)
    assert delete(pod_a, first["event"]["ts"]) is None
    refused = delete(pod_a, second["event"]["ts"])
    assert refused is not None and refused.failure.kind == "rate_limited"
    assert not refused.failure.held and 50 <= refused.failure.retry_after <= 60
    calls = len(slack.calls)
    held = delete(pod_b, third["event"]["ts"])  # another pod: its cache knows nothing yet
    assert held is not None and held.failure.held
    assert held.failure.kind == "rate_limited" and 50 <= held.failure.retry_after <= 60
    assert len(slack.calls) == calls  # not called: Slack never saw it
    # Other methods, and other workspaces, are not held.
    pod_b.call(pod_b.bot, "conversations.open", users="U0BOB")
    other_team = SlackApi(slack.base_url, None, SecretStr(sb.ADMIN_TOKEN))
    other_team = other_team.within(SharedRateLimits().workspace(slack_client, "T0OTHER"))
    assert delete(other_team, third["event"]["ts"]).failure.held is False  # type: ignore[union-attr]


def test_a_later_block_is_kept_and_post_message_is_held_per_channel(slack_client: Client) -> None:
    limits = SharedRateLimits().workspace(slack_client, "T1")
    assert limits is not None
    assert limits.block("chat.delete", {}, 30) == pytest.approx(30, abs=1)
    assert limits.block("chat.delete", {}, 5) == pytest.approx(30, abs=1)  # not shortened
    fresh = SharedRateLimits().workspace(slack_client, "T1")
    assert fresh is not None and fresh.wait("chat.delete", {}) == pytest.approx(30, abs=1)
    fresh.block("chat.postMessage", {"channel": "D0BOB"}, 10)
    other = SharedRateLimits().workspace(slack_client, "T1")
    assert other is not None
    assert other.wait("chat.postMessage", {"channel": "D0BOB"}) > 0
    assert other.wait("chat.postMessage", {"channel": "D0CAROL"}) == 0
    assert scope_of("chat.delete", {"channel": "C1"}) == ""


def test_without_the_table_calls_go_on_and_one_line_says_to_migrate(
    slack: sb.SlackSandbox, queue_client: Client, log_lines
) -> None:
    """A database not migrated since (no piiq_slack_rate_limits): 429s are not shared, and
    nothing else changes."""
    mark = len(log_lines.lines)
    slack.limit("chat.delete", 1, per=60)
    message = slack.post_message(CHANNEL, "U0BOB", "hi")
    api = pod_api(slack, queue_client)
    assert delete(api, message["event"]["ts"]) is None
    again = delete(api, message["event"]["ts"])
    assert again is not None and again.failure.kind == "rate_limited" and not again.failure.held
    warnings = [e for e in log_lines.since(mark) if "rate limits are not shared" in e["event"]]
    assert len(warnings) == 1 and warnings[0]["fix"] == "run piiq migrate"


def test_piiq_migrate_creates_the_table(fresh_database: str) -> None:
    result = CliRunner().invoke(main, ["migrate", "--database-url", fresh_database])
    assert result.exit_code == 0, result.output
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('public.piiq_slack_rate_limits')").fetchone()
    assert found == ("piiq_slack_rate_limits",)


def test_sharing_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, slack_client: Client) -> None:
    monkeypatch.setenv("PIIQ_SLACK_SHARED_RATE_LIMITS", "false")
    shared = SharedRateLimits(enabled=Settings().slack_shared_rate_limits)
    assert shared.workspace(slack_client, "T1") is None


def refusals_per_window(slack: sb.SlackSandbox) -> Counter[float]:
    return Counter(start for _, method, start in slack.method_limits.refused)


async def run_pods(slack: sb.SlackSandbox, client: Client, ingress_url: str) -> Counter[float]:
    """MESSAGES card numbers through the ingress to RUNNERS runners under the limit; every
    message must be deleted and its author DMed once, and every job complete. Snoozed jobs
    are staged every 0.1 s (not 1 s) so that they meet the next window: a shorter test."""
    slack.limit("chat.delete", LIMIT, per=WINDOW)
    authors = ["U0ALICE", "U0BOB", "U0CAROL"]
    sent = []
    for i in range(MESSAGES):
        envelope = slack.post_message(CHANNEL, authors[i % 3], f"card {CARD} ref-{i:02d}")
        assert await send(slack, ingress_url, envelope) == 200
        sent.append(envelope["event"]["ts"])
    async with AsyncExitStack() as pods:
        for _ in range(RUNNERS):
            await pods.enter_async_context(
                running(client, {"events": PER_RUNNER}, poll_interval=0.2, stage_interval=0.1)
            )
        await wait_for(lambda: settled(client), within=90)
    assert [j["state"] for j in jobs(client)] == ["completed"] * MESSAGES
    assert not any(slack.message_exists(CHANNEL, ts) for ts in sent)
    refs = sorted(
        dm["text"].split("ref-")[1][:2] for a in authors for dm in slack.direct_messages(a)
    )
    assert refs == [f"{i:02d}" for i in range(MESSAGES)]  # each DMed once: none lost or twice
    assert len(slack.calls_to("chat.delete", ok=True)) == MESSAGES
    return refusals_per_window(slack)


async def test_pods_share_a_workspaces_limit_and_lose_nothing(
    slack: sb.SlackSandbox, slack_client: Client, slack_settings: Settings, ingress_url: str
) -> None:
    windows = await run_pods(slack, slack_client, ingress_url)
    assert windows, "the limit was never reached: the test proves nothing"
    assert max(windows.values()) <= MOST_PER_WINDOW, windows
    with psycopg.connect(slack_client.database_url, autocommit=True) as conn:
        (blocks,) = conn.execute(
            f'SELECT count(*) FROM "{slack_client.prefix}".piiq_slack_rate_limits '
            "WHERE team = %s AND method = 'chat.delete'",
            (sb.TEAM_ID,),
        ).fetchone() or (0,)
    assert blocks == 1


async def test_without_sharing_every_pod_finds_the_limit_itself(
    slack: sb.SlackSandbox,
    slack_client: Client,
    slack_settings: Settings,
    ingress_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What sharing prevents (and what the test above would see without it): one 429 per
    job that tries while the window is full, many per window. Nothing is lost either way."""
    monkeypatch.setenv("PIIQ_SLACK_SHARED_RATE_LIMITS", "false")
    windows = await run_pods(slack, slack_client, ingress_url)
    assert max(windows.values()) > MOST_PER_WINDOW * 2, windows  # the first: most jobs


def test_sandbox_limits_count_per_window_and_say_when_to_retry() -> None:
    now = [100.0]
    limits = sb.MethodLimits(clock=lambda: now[0])
    limits.set("chat.delete", 2, 60)
    assert [limits.admit("T1", "chat.delete") for _ in range(3)] == [None, None, 60]
    assert limits.admit("T2", "chat.delete") is None  # counted per workspace
    assert limits.admit("T1", "files.info") is None  # and per method
    now[0] = 159.2
    assert limits.admit("T1", "chat.delete") == 1  # 0.8 s left: Slack says whole seconds
    now[0] = 160.0
    assert limits.admit("T1", "chat.delete") is None  # a new window
    assert [t for t, _, _ in limits.refused] == ["T1", "T1"]
