"""The Slack app's OAuth side as the settings give it: client credentials, scopes, the
keys that encrypt tokens at rest, and where Slack's authorize page is.

OAuth is on when ``PIIQ_SLACK_CLIENT_ID`` is set; it then needs the client secret and
token keys, or ``from_settings`` says, in one line, which setting to fix.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.oauth.token_rotation import TokenRotator

from ..runtime.argscrypt import SETTING as ARGS_KEYS_SETTING
from ..runtime.argscrypt import ArgsKeys
from ..runtime.settings import Settings
from .api import _SDK_LOG
from .installations import PostgresInstallationStore

if TYPE_CHECKING:
    from ..queue import Client

TOKEN_KEYS_SETTING = "PIIQ_SLACK_TOKEN_KEYS"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Tokens this close to their expiry are refreshed before a job uses them (slack_sdk's and
# Bolt's default: a job, its retries and snoozes fit well inside).
REFRESH_BEFORE_MINUTES = 120


class OAuthConfigError(ValueError):
    """OAuth is asked for but cannot work: the message names the setting to fix."""


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: SecretStr = field(repr=False)
    keys: ArgsKeys
    api_url: str
    scopes: tuple[str, ...] = ()
    user_scopes: tuple[str, ...] = ()
    redirect_uri: str | None = None
    state_seconds: int = 600

    @classmethod
    def from_settings(cls, s: Settings) -> OAuthApp | None:
        """None when ``PIIQ_SLACK_CLIENT_ID`` is unset (tokens come from the Secret)."""
        if not s.slack_client_id:
            return None
        if s.slack_client_secret is None:
            raise OAuthConfigError(
                "PIIQ_SLACK_CLIENT_ID is set but PIIQ_SLACK_CLIENT_SECRET is not: copy the "
                "Client Secret from your Slack app's Basic Information page"
            )
        if s.slack_token_keys is not None:
            keys = ArgsKeys.from_setting(s.slack_token_keys, TOKEN_KEYS_SETTING)
        else:
            keys = ArgsKeys.from_setting(s.args_keys)
        if keys is None:
            raise OAuthConfigError(
                f"PIIQ_SLACK_CLIENT_ID is set but neither {TOKEN_KEYS_SETTING} nor "
                f"{ARGS_KEYS_SETTING} is: installation tokens are stored encrypted; make a key "
                f"with `piiq keys generate` and set {TOKEN_KEYS_SETTING}"
            )
        return cls(
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret,
            keys=keys,
            api_url=s.slack_api_url,
            scopes=tuple(s.slack_scopes),
            user_scopes=tuple(s.slack_user_scopes),
            redirect_uri=s.slack_redirect_uri,
            state_seconds=s.slack_oauth_state_seconds,
        )

    @property
    def authorization_url(self) -> str:
        """Slack's authorize page, beside its Web API (https://slack.com/oauth/v2/authorize,
        or the sandbox's)."""
        return urllib.parse.urljoin(self.api_url.rstrip("/") + "/", "../oauth/v2/authorize")

    def store(self, client: Client) -> PostgresInstallationStore:
        return PostgresInstallationStore(client, self.client_id, self.keys)

    def web_client(self) -> WebClient:
        """A client without a token, for oauth.v2.access (code exchange and refresh)."""
        return WebClient(base_url=self.api_url, timeout=15, logger=_SDK_LOG)

    def rotator(self) -> TokenRotator:
        return TokenRotator(
            client_id=self.client_id,
            client_secret=self.client_secret.get_secret_value(),
            client=self.web_client(),
        )
