"""Garbage in the signing headers is a bad signature: 401, never a 500 with a traceback.
Sent as raw header bytes over real HTTP to a live ingress, as an attacker would."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import urllib.parse

import pytest

from piiq import sandbox as sb
from piiq.queue import Client

from .conftest import CHANNEL
from .test_flow import jobs

NOW = str(int(time.time()))


def post_raw(url: str, body: bytes, headers: dict[str, bytes]) -> tuple[int, bytes]:
    """POST with header values as raw bytes (http.client sends bytes untouched)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def signed(slack: sb.SlackSandbox, body: bytes) -> dict[str, bytes]:
    headers = slack.signed_headers(body)
    return {
        "X-Slack-Request-Timestamp": headers["X-Slack-Request-Timestamp"].encode(),
        "X-Slack-Signature": headers["X-Slack-Signature"].encode(),
    }


HEX = "a" * 64
ARABIC_INDIC_DIGITS = "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660".encode()
GARBAGE = {
    "non-ASCII signature": {"X-Slack-Signature": ("v0=" + "é" * 32).encode()},
    "latin-1 byte in the signature": {"X-Slack-Signature": b"v0=" + b"\xff" * 64},
    "signature without v0=": {"X-Slack-Signature": HEX.encode()},
    "signature too short": {"X-Slack-Signature": b"v0=abc"},
    "non-ASCII digits in the timestamp": {"X-Slack-Request-Timestamp": ARABIC_INDIC_DIGITS},
    "underscores in the timestamp": {"X-Slack-Request-Timestamp": b"1_700_000_000"},
    "a 5000-digit timestamp": {"X-Slack-Request-Timestamp": b"9" * 5000},
    "a negative timestamp": {"X-Slack-Request-Timestamp": b"-1"},
    "an empty signature": {"X-Slack-Signature": b""},
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
async def test_header_garbage_is_a_401_without_a_traceback(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, log_lines, garbage
) -> None:
    mark = len(log_lines.lines)
    body = json.dumps(slack.post_message(CHANNEL, "U0ALICE", "hello")).encode()
    headers = {
        "X-Slack-Request-Timestamp": NOW.encode(),
        "X-Slack-Signature": f"v0={HEX}".encode(),
    } | garbage
    status, answer = await asyncio.to_thread(post_raw, ingress_url, body, headers)
    assert (status, answer) == (401, b"missing, invalid or stale signature")
    assert jobs(slack_client) == []
    written = "\n".join(log_lines.lines[mark:])
    assert "Traceback" not in written and "Error handling request" not in written
    (rejected,) = [e for e in log_lines.since(mark) if e["event"] == "request rejected"]
    assert rejected["status"] == 401


async def test_a_signed_body_that_is_not_utf8_is_a_401(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client, log_lines
) -> None:
    mark = len(log_lines.lines)
    body = b'{"type": "event_callback", "x": "\xff\xfe"}'
    headers = {
        "X-Slack-Request-Timestamp": NOW.encode(),
        "X-Slack-Signature": ("v0=" + HEX).encode(),
    }
    status, _ = await asyncio.to_thread(post_raw, ingress_url, body, headers)
    assert status == 401 and jobs(slack_client) == []
    assert "Traceback" not in "\n".join(log_lines.lines[mark:])


async def test_the_same_raw_path_accepts_a_well_signed_event(
    slack: sb.SlackSandbox, ingress_url: str, slack_client: Client
) -> None:
    body = json.dumps(slack.post_message(CHANNEL, "U0ALICE", "hello")).encode()
    status, _ = await asyncio.to_thread(post_raw, ingress_url, body, signed(slack, body))
    assert status == 200 and len(jobs(slack_client)) == 1
