"""History scans end to end over HTTP: `piiq scan-history` checks the channel with Slack
and enqueues the first page; real workers page conversations.history and a thread's
conversations.replies in the sandbox through 429s, one is killed (SIGKILL) in the middle
of a page and another takes over; every message is scanned exactly once, the personal
data is deleted, and a message a live event already scanned is not scanned again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter

import pytest
import yaml
from click.testing import CliRunner

from piiq import sandbox as sb
from piiq.cli import main
from piiq.queue import Client, CronEntry, Discard, MaintenanceOptions, perform_job
from piiq.slack import history_store
from piiq.slack.history import HistoryScanWorker
from piiq.slack.history_jobs import PAGE_WORKER, start_scans
from piiq.slack.jobs import MESSAGE_WORKER
from piiq_operator.spec import parse_spec
from tests.support.helm_chart import ROOT
from tests.support.pii_samples import CARD, SSN
from tests.support.piiq_cli import one_line_error, run_piiq
from tests.support.queue_helpers import running, wait_for

from .conftest import CHANNEL
from .test_flow import QUEUES, jobs, send, settled

HISTORY_QUEUES = {**QUEUES, "default": 1}


def slack_env(slack: sb.SlackSandbox, client: Client) -> dict[str, str]:
    return {
        "PIIQ_DATABASE_URL": client.database_url or "",
        "PIIQ_QUEUE_PREFIX": client.prefix,
        "PIIQ_SLACK_API_URL": slack.base_url,
        "PIIQ_SLACK_BOT_TOKEN": sb.BOT_TOKEN,
        "PIIQ_SLACK_ADMIN_TOKEN": sb.ADMIN_TOKEN,
    }


def statuses(client: Client) -> list[history_store.ScanStatus]:
    with client.connect() as conn:
        return history_store.statuses(conn, client.prefix, PAGE_WORKER)


def page_worker(piiq_command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`piiq worker` serving the page jobs' queue alone (no scanning: that is the
    in-process runner's, after this one is killed)."""
    return subprocess.Popen(
        [*piiq_command, "worker", "--queue", "default=1", "--heartbeat-interval", "0.3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_on_history_call(slack: sb.SlackSandbox, proc: subprocess.Popen, at: int) -> list[int]:
    """SIGKILL ``proc`` right after Slack answered its ``at``-th conversations.history page
    (before the worker has read the answer): the page's job is left executing, its page
    not recorded. Returns the pages answered so far (a list, to read after)."""
    answered: list[int] = []

    def hook(call: sb.Call) -> None:
        answered.append(1)
        if len(answered) == at:
            os.kill(proc.pid, signal.SIGKILL)
        else:
            slack.after("conversations.history", hook)

    slack.after("conversations.history", hook)
    return answered


@pytest.mark.slow
async def test_a_scan_through_429s_and_a_killed_worker_scans_each_message_once(
    slack: sb.SlackSandbox,
    ingress_url: str,
    slack_client: Client,
    slack_settings,
    subprocess_env: dict[str, str],
    piiq_command: list[str],
) -> None:
    people = ("U0ALICE", "U0BOB", "U0CAROL")
    posted = []
    for i in range(10):
        text = f"card {CARD}" if i in (2, 7) else f"status update {i}"
        posted.append(slack.post_message(CHANNEL, people[i % 3], text)["event"])
    parent = posted[4]["ts"]
    for i in range(4):
        text = f"my SSN is {SSN}" if i == 1 else f"reply {i}"
        posted.append(slack.post_message(CHANNEL, "U0BOB", text, thread_ts=parent)["event"])
    live = slack.post_message(CHANNEL, "U0ALICE", "seen live already")
    assert await send(slack, ingress_url, live) == 200
    with_pii = {m["ts"] for m in posted if CARD in m["text"] or SSN in m["text"]}
    assert len(with_pii) == 3

    env = slack_env(slack, slack_client)
    started = run_piiq(
        "scan-history", "--channel", CHANNEL, "--since", "1h", "--page-size", "3", **env
    )
    assert started.returncode == 0, started.stderr
    assert f"{CHANNEL}: scan started from" in started.stdout
    slack.calls.clear()  # the command's own check of the channel
    slack.rate_limit("conversations.history", times=2, retry_after=1)
    slack.rate_limit("conversations.replies", times=1, retry_after=1)

    first = page_worker(piiq_command, {**subprocess_env, **env})
    answered = kill_on_history_call(slack, first, at=2)  # mid-way through the second page
    try:
        assert first.wait(timeout=60) == -signal.SIGKILL
    finally:
        first.kill()
    assert len(answered) == 2
    (scan,) = statuses(slack_client)
    assert scan.pages == 1 and not scan.done  # one page finished, the second cut off

    fast_rescue = MaintenanceOptions(prune_max_age=None, rescue_after=None, heartbeat_timeout=2)
    async with running(slack_client, HISTORY_QUEUES, maintenance=fast_rescue):
        await wait_for(lambda: settled(slack_client) and statuses(slack_client)[0].done, 90)

    (scan,) = statuses(slack_client)
    assert (scan.enqueued, scan.skipped, scan.threads, scan.failed) == (14, 1, 1, 0)
    # 11 top-level messages in pages of 3 (4 pages) and 4 replies (2 pages, the parent first)
    assert scan.pages == 6
    scanned = [j for j in jobs(slack_client) if j["worker"] == MESSAGE_WORKER]
    per_message = Counter(j["args"]["ts"] for j in scanned)
    assert set(per_message) == {m["ts"] for m in posted} | {live["event"]["ts"]}
    assert set(per_message.values()) == {1}  # each once, the live one included
    assert {j["state"] for j in scanned} == {"completed"}
    for message in posted:
        assert slack.message_exists(CHANNEL, message["ts"]) == (message["ts"] not in with_pii)
    deleted = Counter(c.args["ts"] for c in slack.calls_to("chat.delete", ok=True))
    assert deleted == dict.fromkeys(with_pii, 1)
    refused = [c for c in slack.calls if c.status == 429]
    assert Counter(c.method for c in refused) == {
        "conversations.history": 2,
        "conversations.replies": 1,
    }
    pages = [j for j in jobs(slack_client) if j["worker"] == PAGE_WORKER]
    assert len(pages) == 6 and {j["state"] for j in pages} == {"completed"}
    assert sum(1 for j in pages if j["meta"].get("rescued")) == 1  # the one cut off

    shown = run_piiq("scan-history", "--status", **env)
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if CHANNEL in line)
    assert "done" in row and " 14 " in row


async def test_a_page_run_again_after_its_commit_reads_nothing_and_enqueues_nothing(
    slack: sb.SlackSandbox, slack_client: Client, slack_settings
) -> None:
    for i in range(5):
        slack.post_message(CHANNEL, "U0ALICE", f"hello {i}")
    now = int(time.time()) + 1
    scan = history_store.Scan(sb.TEAM_ID, CHANNEL, now - 600, now)
    start_scans(slack_client, [scan], "default", page_size=2)
    async with running(slack_client, {"default": 1}):
        await wait_for(lambda: statuses(slack_client)[0].done, 30)
    reads = len(slack.calls_to("conversations.history"))
    before = jobs(slack_client)
    with slack_client.connect(autocommit=True) as conn:  # as if every ack had been lost
        conn.execute(
            f"UPDATE \"{slack_client.prefix}\".oban_jobs SET state = 'available' WHERE worker = %s",
            (PAGE_WORKER,),
        )
    async with running(slack_client, {"default": 1}):
        await wait_for(lambda: statuses(slack_client)[0].done, 30)
    assert len(slack.calls_to("conversations.history")) == reads  # each page found recorded
    assert len(jobs(slack_client)) == len(before)
    assert start_scans(slack_client, [scan], "default", page_size=2)[0].conflict  # once
    (status,) = statuses(slack_client)
    assert (status.pages, status.enqueued) == (3, 5)


def test_bad_input_is_one_line_naming_the_value(
    slack: sb.SlackSandbox, slack_client: Client
) -> None:
    """Two as a person meets them (a process of its own), the rest through click in-process
    (the same command, without a Python start each)."""
    slack.add_channel("C0OUTSIDE", bot_member=False)
    env = slack_env(slack, slack_client)
    bad_since = run_piiq("scan-history", "--channel", CHANNEL, "--since", "30x", **env)
    assert "'30x'" in one_line_error(bad_since, status=2)
    unknown = one_line_error(
        run_piiq("scan-history", "--channel", "C0NOPE", "--since", "1d", **env)
    )
    assert "C0NOPE" in unknown and "channel_not_found" in unknown and "/invite" in unknown
    outside = cli_error(env, "--channel", "C0OUTSIDE", "--since", "1d")
    assert "C0OUTSIDE" in outside and "not_in_channel" in outside
    name = cli_error(env, "--channel", "#general", "--since", "1d")
    assert "'#general'" in name and "not a conversation id" in name
    assert "--channel" in cli_error(env, "--since", "1d")
    no_token = {**env, "PIIQ_SLACK_BOT_TOKEN": ""}
    tokenless = cli_error(no_token, "--channel", CHANNEL, "--since", "1d")
    assert tokenless.startswith("Error: no Slack bot token: set PIIQ_SLACK_BOT_TOKEN")
    zero = cli_error(env, "--channel", CHANNEL, "--since", "0", status=2)
    assert "'--since'" in zero and "more than zero" in zero
    exempt = {**env, "PIIQ_EXEMPT_CHANNELS": CHANNEL}
    assert "exempt" in cli_error(exempt, "--channel", CHANNEL, "--since", "1d")
    with slack_client.connect() as conn:
        assert history_store.statuses(conn, slack_client.prefix, PAGE_WORKER) == []


def cli_error(env: dict[str, str], *args: str, status: int = 1) -> str:
    """`piiq scan-history ARGS` in-process: its one line on stderr (after click's usage,
    for status 2)."""
    result = CliRunner().invoke(main, ["scan-history", *args], env=env)
    assert result.exit_code == status, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    if status == 2:
        assert lines[0].startswith("Usage:")
        lines = lines[2:]
    assert len(lines) == 1, result.stderr
    return lines[0]


async def test_the_examples_cron_entry_backfills_its_channels_through_a_worker(
    slack: sb.SlackSandbox, slack_client: Client, slack_settings
) -> None:
    """examples/piiqueue-backfill.yaml's spec.cron entry as the operator hands it to the
    worker pods (its schedule made every minute): the tick's job starts a scan of each
    channel over the last day; a channel the app is not in is a cancelled page, named."""
    doc = yaml.safe_load((ROOT / "examples/piiqueue-backfill.yaml").read_text())
    (entry,) = parse_spec(doc["metadata"]["name"], doc["spec"]).cron
    public, private = entry.args["channels"]
    slack.add_channel(private, private=True, bot_member=False)
    for i in range(3):
        slack.post_message(public, "U0ALICE", f"note {i}")
    every_minute = CronEntry("* * * * *", entry.worker, args=entry.args, queue=entry.queue)
    async with running(slack_client, {"default": 1}, crontab=(every_minute,)):
        await wait_for(lambda: len(statuses(slack_client)) >= 2, 30)
        await wait_for(lambda: all(s.done for s in statuses(slack_client)), 30)
    # A test that crosses a minute sees a second tick: its scans find the messages scanned.
    scans = statuses(slack_client)
    readable = [s for s in scans if s.channel == public]
    assert sum(s.enqueued for s in readable) == 3 and {s.failed for s in readable} == {0}
    assert {(s.pages, s.failed) for s in scans if s.channel == private} == {(0, 1)}
    assert {s.latest - s.oldest for s in scans} == {86400}
    cancelled = [j for j in jobs(slack_client) if j["state"] == "cancelled"]
    assert cancelled and all("channel_not_found" in j["errors"][-1]["error"] for j in cancelled)


async def test_wait_shows_the_progress_until_the_scan_is_done(
    slack: sb.SlackSandbox, slack_client: Client, slack_settings
) -> None:
    for i in range(7):
        slack.post_message(CHANNEL, "U0BOB", f"hello {i}")
    env = slack_env(slack, slack_client)
    args = ("scan-history", "--channel", CHANNEL, "--since", "1d", "--page-size", "2", "--wait")
    async with running(slack_client, {"default": 1}):
        waited = await asyncio.to_thread(run_piiq, *args, **env)
    assert waited.returncode == 0, waited.stderr
    assert f"{CHANNEL}: scan started" in waited.stdout
    assert "4 pages, 7 messages enqueued" in waited.stdout and "done" in waited.stdout


async def test_a_live_event_for_a_message_a_scan_enqueued_makes_no_second_job(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, slack_settings
) -> None:
    """The other order than the scan finding an event's job: the scan first, then the
    message's event arrives late (a Slack retry): the database's unique key holds."""
    late = slack.post_message(CHANNEL, "U0ALICE", "posted while the ingress was down")
    now = int(time.time()) + 1
    start_scans(slack_client, [history_store.Scan(sb.TEAM_ID, CHANNEL, now - 600, now)], "default")
    async with running(slack_client, {"default": 1}):
        await wait_for(lambda: statuses(slack_client)[0].done, 30)
    assert statuses(slack_client)[0].enqueued == 1
    assert await send(slack, ingress_url, late, retry_num=1) == 200
    scanned = [j for j in jobs(slack_client) if j["worker"] == MESSAGE_WORKER]
    assert [j["args"]["ts"] for j in scanned] == [late["event"]["ts"]]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"since": "1d"}, "args.channels"),
        ({"channels": "C0GENERAL", "since": "1d"}, "args.channels"),
        ({"channels": ["C0GENERAL"], "since": "soon"}, "args.since"),
    ],
)
def test_a_cron_entry_with_bad_args_is_discarded_naming_them(
    args: dict, named: str, slack: sb.SlackSandbox, slack_settings
) -> None:
    result = perform_job(HistoryScanWorker, args)
    assert isinstance(result, Discard) and result.reason.startswith(named)
    assert slack.calls == []  # nothing asked of Slack


async def test_the_org_of_a_grid_install_goes_with_every_page_and_message_job(
    slack: sb.SlackSandbox, slack_client: Client, slack_settings
) -> None:
    """Workers look tokens up per job (team, and on Grid the org): a scan started for an
    org-wide installation keeps saying so down to each message's job."""
    slack.post_message(CHANNEL, "U0ALICE", "hello")
    org = {"team": sb.TEAM_ID, "enterprise": "E0ORG", "enterprise_install": True}
    slack_client.insert(HistoryScanWorker.new({"channels": [CHANNEL], "since": "1h", **org}))
    async with running(slack_client, {"default": 1}):
        await wait_for(lambda: bool(statuses(slack_client)) and statuses(slack_client)[0].done)
    found = [j for j in jobs(slack_client) if j["worker"] in (PAGE_WORKER, MESSAGE_WORKER)]
    assert {j["worker"] for j in found} == {PAGE_WORKER, MESSAGE_WORKER}
    for job in found:
        assert {k: job["args"].get(k) for k in org} == org, job["worker"]
