"""Slack Web API edges: where the bot token may go, what errors mean, what job errors keep."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from piiq.slack.api import DownloadRefused, SlackApi, SlackCallFailed, classify
from piiq.slack.workers import SlackMessageWorker

TOKEN = "xoxb-not-for-other-hosts"


def api(base_url: str) -> SlackApi:
    return SlackApi(base_url, SecretStr(TOKEN), None)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.pdf", True),
        ("http://files.slack.com/files-pri/T1-F1/a.pdf", False),  # never in clear text
        ("https://files.slack.com.evil.example/a.pdf", False),
        ("https://docs.google.com/document/d/1", False),  # an external file
        ("file:///etc/passwd", False),
        (None, False),
    ],
)
def test_the_token_goes_only_to_slacks_file_host(url: str | None, allowed: bool) -> None:
    assert api("https://slack.com/api/").file_url_allowed(url) is allowed


def test_a_sandbox_serves_files_from_its_own_origin_only() -> None:
    sandbox = api("http://127.0.0.1:8765/api/")
    assert sandbox.file_url_allowed("http://127.0.0.1:8765/files-pri/T-F1/x.txt")
    assert not sandbox.file_url_allowed("http://127.0.0.1:8766/files-pri/T-F1/x.txt")


@pytest.fixture
def redirecting_server() -> Iterator[tuple[str, list[str]]]:
    """A file host that redirects elsewhere, and the Authorization headers that arrive."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            if self.path.startswith("/files-pri/"):
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"secret-stealing host")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_a_redirect_is_not_followed(redirecting_server: tuple[str, list[str]]) -> None:
    root, seen = redirecting_server
    with pytest.raises(SlackCallFailed, match="redirected"):
        api(f"{root}/api/").download(f"{root}/files-pri/T-F1/a.txt", 1000)
    assert seen == [f"Bearer {TOKEN}"]  # the first host only; /elsewhere never asked


def test_an_external_url_is_refused_before_any_request() -> None:
    with pytest.raises(DownloadRefused, match="external"):
        api("https://slack.com/api/").download("https://evil.example/f", 1000)


def slack_error(status: int, error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.delete",
        req_args={},
        data={"ok": False, "error": error},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("method", "status", "error", "headers", "kind", "wait"),
    [
        ("chat.postMessage", 429, "ratelimited", {"Retry-After": "7"}, "rate_limited", 7),
        ("chat.postMessage", 429, "ratelimited", {"Retry-After": "Wed, 21 Oct 2026"}, "rate_limited", 30),
        ("chat.postMessage", 429, "ratelimited", {"Retry-After": "-5"}, "rate_limited", 1),
        ("chat.postMessage", 429, "ratelimited", {"Retry-After": "nan"}, "rate_limited", 30),
        ("chat.postMessage", 200, "rate_limited", {}, "rate_limited", 30),
        ("chat.delete", 200, "channel_not_found", {}, "not_permitted", 0),
        ("files.info", 200, "channel_not_found", {}, "gone", 0),
        ("chat.delete", 200, "message_not_found", {}, "gone", 0),
        ("chat.delete", 200, "token_revoked", {}, "auth", 0),
        ("chat.delete", 500, "internal_error", {}, "transient", 0),
    ],
)  # fmt: skip
def test_slack_errors_are_classified(
    method: str, status: int, error: str, headers: dict, kind: str, wait: float
) -> None:
    failure = classify(method, slack_error(status, error, headers))
    assert (failure.kind, failure.retry_after) == (kind, wait)


def test_job_errors_never_keep_an_exceptions_message() -> None:
    text = "my card is 4556 7375 8689 9855\nthanks"
    try:
        {}[text]
    except KeyError as exc:
        stored = SlackMessageWorker().describe_error(exc)
    assert "KeyError (message withheld" in stored and "test_api.py" in stored
    assert "4556" not in stored and "thanks" not in stored
    failed = SlackCallFailed(classify("chat.delete", slack_error(500, "internal_error")))
    assert (
        SlackMessageWorker()
        .describe_error(failed)
        .endswith("SlackCallFailed: chat.delete failed: internal_error")
    )
