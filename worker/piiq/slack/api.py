"""Slack's Web API as the workers use it: two clients, file downloads, and what errors mean.

The bot token (xoxb-) reads files, opens DMs and posts; the user token of a workspace
admin (xoxp-) deletes, since a bot may delete only its own messages. Tokens come from the
environment and never leave this module: not into job args, not into logs.
"""

from __future__ import annotations

import copy
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from ..runtime import metrics

if TYPE_CHECKING:
    from .ratelimits import WorkspaceLimits

# slack_sdk logs request headers (with the token) at DEBUG: keep its logger above that.
_SDK_LOG = logging.getLogger("piiq.slack.sdk")
_SDK_LOG.setLevel(logging.WARNING)

# Errors that mean the thing is already gone: the step is done.
GONE = {"message_not_found", "file_not_found", "file_deleted", "channel_not_found"}
# ... except that a user token gets channel_not_found for a channel it cannot see (a
# private one the admin is not in): for a delete that means "not permitted", not "gone".
DELETES = {"chat.delete", "files.delete"}
RATE_LIMITED = {"ratelimited", "rate_limited"}
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
    "invalid_refresh_token",  # a token refresh (OAuth): the installation needs reinstalling
    "invalid_client_id",
    "bad_client_secret",
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
    held: bool = False  # not called: another worker's 429 blocks the method for now

    def __str__(self) -> str:
        return f"{self.method} failed: {self.error}"


def classify(method: str, exc: SlackApiError) -> SlackFailure:
    status = exc.response.status_code
    error = str(exc.response.get("error", "") or f"http_{status}")
    if status == 429 or error in RATE_LIMITED:
        headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
        return SlackFailure(method, "ratelimited", "rate_limited", retry_after(headers))
    return SlackFailure(method, error, _kind(method, error))


def _kind(method: str, error: str) -> ErrorKind:
    if error in AUTH:
        return "auth"
    if error == "channel_not_found" and method in DELETES:
        return "not_permitted"
    if error in GONE:
        return "gone"
    if error in NOT_PERMITTED:
        return "not_permitted"
    if error in UNREACHABLE:
        return "unreachable"
    return "transient"  # 5xx, fatal_error, request_timeout ...


def retry_after(headers: Mapping[str, object]) -> float:
    """Retry-After in seconds, within [1, 3600]; 30 when absent or not a number (an
    HTTP date, say, or "nan"): a malformed header must not turn a rate limit into a failure."""
    value = headers.get("retry-after")
    value = value[0] if isinstance(value, list) and value else value
    try:
        seconds = float(str(value))
    except ValueError:
        seconds = math.nan
    return 30.0 if math.isnan(seconds) else min(max(seconds, 1.0), 3600.0)


class SlackCallFailed(Exception):
    """A Web API call failed; ``failure`` says how (raised by ``SlackApi.call``)."""

    def __init__(self, failure: SlackFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class DownloadRefused(Exception):
    """A file is not downloaded: too large, hosted elsewhere, or not where Slack keeps files."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The bot token goes only to the host we checked: a redirect is not followed."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


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
        self.limits: WorkspaceLimits | None = None

    def within(self, limits: WorkspaceLimits | None) -> SlackApi:
        """This API (the same clients) with its calls going through a workspace's limits
        shared by every worker (``ratelimits``): one per job."""
        api = copy.copy(self)
        api.limits = limits
        return api

    def _client(self, token: SecretStr, timeout: int) -> WebClient:
        return WebClient(
            token=token.get_secret_value(),
            base_url=self.base_url,
            timeout=timeout,
            logger=_SDK_LOG,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )

    def call(self, client: WebClient | None, method: str, **params: object) -> dict[str, Any]:
        """Call ``method`` (e.g. ``chat.delete``) through the SDK's own method, which knows
        how Slack wants its parameters encoded; failures raise ``SlackCallFailed``. With
        shared limits, a method another worker was refused is not called until its block
        ends (a ``rate_limited`` failure, ``held``), and a 429 here blocks it for all."""
        if client is None:
            raise SlackCallFailed(SlackFailure(method, "no_token_configured", "auth"))
        wait = self.limits.wait(method, params) if self.limits is not None else 0.0
        if wait > 0:
            metrics.observe_slack_call_held(method)
            raise SlackCallFailed(SlackFailure(method, "ratelimited", "rate_limited", wait, True))
        try:
            data: dict[str, Any] = getattr(client, method.replace(".", "_"))(**params).data
        except SlackApiError as exc:
            failure = classify(method, exc)
            metrics.observe_slack_call(method, failure.error)
            if failure.kind == "rate_limited" and self.limits is not None:
                seconds = self.limits.block(method, params, failure.retry_after)
                failure = replace(failure, retry_after=seconds)
            raise SlackCallFailed(failure) from None
        except OSError:
            metrics.observe_slack_call(method, "connection_error")
            raise
        metrics.observe_slack_call(method, "ok")
        return data

    def download(self, url: str | None, max_bytes: int, mimetype: str = "") -> bytes:
        """A private file's bytes, fetched with the bot token; at most ``max_bytes``.

        The token is sent only to Slack's file host (or, in the sandbox, the API's own
        host) over the API's scheme, and redirects are not followed.
        """
        try:
            data = self._download(url, max_bytes, mimetype)
        except SlackCallFailed as exc:
            metrics.observe_slack_call("files.download", exc.failure.error)
            raise
        metrics.observe_slack_call("files.download", "ok")
        return data

    def file_url_allowed(self, url: str | None) -> bool:
        if not url:
            return False
        target, api = urllib.parse.urlsplit(url), urllib.parse.urlsplit(self.base_url)
        if api.hostname == "slack.com":
            return target.scheme == "https" and target.hostname == "files.slack.com"
        return (target.scheme, target.netloc) == (api.scheme, api.netloc)  # a sandbox

    def _download(self, url: str | None, max_bytes: int, mimetype: str) -> bytes:
        method = "files.download"
        if self._bot_token is None:
            raise SlackCallFailed(SlackFailure(method, "no_token_configured", "auth"))
        if not self.file_url_allowed(url):
            raise DownloadRefused("not hosted by Slack (an external file): not downloaded")
        assert url is not None
        auth = {"Authorization": f"Bearer {self._bot_token.get_secret_value()}"}
        opener = urllib.request.build_opener(_NoRedirects)
        try:
            with opener.open(urllib.request.Request(url, headers=auth), timeout=self.timeout) as r:
                if r.headers.get_content_type() == "text/html" and mimetype != "text/html":
                    # Slack serves its sign-in page (200) when the token is not accepted.
                    raise SlackCallFailed(SlackFailure(method, "invalid_auth", "auth"))
                data = r.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise SlackCallFailed(_download_failure(exc)) from None
        if len(data) > max_bytes:
            raise DownloadRefused(f"larger than the {max_bytes:,}-byte limit")
        return data


def _download_failure(exc: urllib.error.HTTPError) -> SlackFailure:
    method, status = "files.download", exc.code
    if status == 429:
        headers = {k.lower(): v for k, v in exc.headers.items()}
        return SlackFailure(method, "ratelimited", "rate_limited", retry_after(headers))
    kinds: dict[int, ErrorKind] = {401: "auth", 403: "auth", 404: "gone", 410: "gone"}
    if 300 <= status < 400:
        return SlackFailure(method, f"redirected (HTTP {status})", "not_permitted")
    return SlackFailure(method, f"http_{status}", kinds.get(status, "transient"))
