"""Slack's Web API as the workers use it: two clients, file downloads, and what errors mean.

The bot token (xoxb-) reads files, opens DMs and posts; the user token of a workspace
admin (xoxp-) deletes, since a bot may delete only its own messages. Tokens come from the
environment and never leave this module: not into job args, not into logs.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from .. import metrics

# slack_sdk logs request headers (with the token) at DEBUG: keep its logger above that.
_SDK_LOG = logging.getLogger("piiq.slack.sdk")
_SDK_LOG.setLevel(logging.WARNING)

# Errors that mean the thing is already gone: the step is done.
GONE = {"message_not_found", "file_not_found", "file_deleted", "channel_not_found"}
# Errors that mean we may not delete it: notify instead.
NOT_PERMITTED = {
    "cant_delete_message",
    "cant_delete_file",
    "compliance_exports_prevent_deletion",
    "no_permission",
    "restricted_action",
    "missing_scope",
    "not_in_channel",
}
# Errors no retry can fix: the installation needs a person.
AUTH = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "team_added_to_org",
    "org_login_required",
    "not_allowed_token_type",
}
# A DM that cannot reach its person: record it and move on.
UNREACHABLE = {"user_not_found", "user_not_visible", "user_disabled", "cannot_dm_bot"}

ErrorKind = Literal["rate_limited", "gone", "not_permitted", "auth", "unreachable", "transient"]


@dataclass(frozen=True, slots=True)
class SlackFailure:
    """A failed call, classified: the method, Slack's error code and what it means."""

    method: str
    error: str
    kind: ErrorKind
    retry_after: float = 0.0

    def __str__(self) -> str:
        return f"{self.method} failed: {self.error}"


def classify(method: str, exc: SlackApiError) -> SlackFailure:
    status = exc.response.status_code
    error = str(exc.response.get("error", "") or f"http_{status}")
    if status == 429:
        headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
        value = headers.get("retry-after", "30")
        value = value[0] if isinstance(value, list) else value
        return SlackFailure(method, "ratelimited", "rate_limited", float(value))
    if error in AUTH:
        return SlackFailure(method, error, "auth")
    if error in GONE:
        return SlackFailure(method, error, "gone")
    if error in NOT_PERMITTED:
        return SlackFailure(method, error, "not_permitted")
    if error in UNREACHABLE:
        return SlackFailure(method, error, "unreachable")
    return SlackFailure(method, error, "transient")  # 5xx, fatal_error, request_timeout ...


class SlackCallFailed(Exception):
    """A Web API call failed; ``failure`` says how (raised by ``SlackApi.call``)."""

    def __init__(self, failure: SlackFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class DownloadRefused(Exception):
    """A file could not be fetched as a file (too large, or a sign-in page instead)."""


class SlackApi:
    def __init__(
        self,
        base_url: str,
        bot_token: SecretStr | None,
        admin_token: SecretStr | None,
        *,
        timeout: int = 15,
    ) -> None:
        self.base_url = base_url
        self.bot = self._client(bot_token, timeout) if bot_token else None
        self.admin = self._client(admin_token, timeout) if admin_token else None
        self._bot_token = bot_token
        self.timeout = timeout

    def _client(self, token: SecretStr, timeout: int) -> WebClient:
        return WebClient(
            token=token.get_secret_value(),
            base_url=self.base_url,
            timeout=timeout,
            logger=_SDK_LOG,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )

    def call(self, client: WebClient | None, method: str, **params: object) -> dict:  # type: ignore[type-arg]
        """Call ``method`` (e.g. ``chat.delete``) through the SDK's own method, which knows
        how Slack wants its parameters encoded; failures raise ``SlackCallFailed``."""
        if client is None:
            raise SlackCallFailed(SlackFailure(method, "no_token_configured", "auth"))
        try:
            data = getattr(client, method.replace(".", "_"))(**params).data
        except SlackApiError as exc:
            failure = classify(method, exc)
            metrics.observe_slack_call(method, failure.error)
            raise SlackCallFailed(failure) from None
        except OSError:
            metrics.observe_slack_call(method, "connection_error")
            raise
        metrics.observe_slack_call(method, "ok")
        return data  # type: ignore[no-any-return]

    def download(self, url: str, max_bytes: int) -> bytes:
        """A private file's bytes, fetched with the bot token; at most ``max_bytes``."""
        try:
            data = self._download(url, max_bytes)
        except SlackCallFailed as exc:
            metrics.observe_slack_call("files.download", exc.failure.error)
            raise
        metrics.observe_slack_call("files.download", "ok")
        return data

    def _download(self, url: str, max_bytes: int) -> bytes:
        if self._bot_token is None:
            raise SlackCallFailed(SlackFailure("files.download", "no_token_configured", "auth"))
        auth = {"Authorization": f"Bearer {self._bot_token.get_secret_value()}"}
        request = urllib.request.Request(url, headers=auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.headers.get_content_type() == "text/html":
                    # Slack serves its sign-in page (200) when the token is not accepted.
                    raise SlackCallFailed(SlackFailure("files.download", "invalid_auth", "auth"))
                data = response.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            kind: ErrorKind = "gone" if exc.code == 404 else "transient"
            raise SlackCallFailed(
                SlackFailure("files.download", f"http_{exc.code}", kind)
            ) from None
        if len(data) > max_bytes:
            raise DownloadRefused(f"larger than the {max_bytes:,}-byte limit")
        return data
