"""What a Slack worker needs, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..runtime.argscrypt import ArgsKeys
from ..runtime.settings import Settings
from .api import SlackApi, SlackCallFailed, SlackFailure
from .oauth_app import OAuthApp
from .ratelimits import SharedRateLimits
from .workspace_tokens import JobWorkspace, installation_for

if TYPE_CHECKING:
    from ..detect import Detector
    from ..queue import Job


@dataclass
class SlackContext:
    api: SlackApi
    settings: Settings = field(repr=False)
    args_keys: ArgsKeys | None = field(default=None, repr=False)
    rate_limits: SharedRateLimits = field(default_factory=SharedRateLimits, repr=False)
    oauth: OAuthApp | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SlackContext:
        """Raises ArgsKeyError or OAuthConfigError (one line, no key) when PIIQ_ARGS_KEYS,
        the token keys or the OAuth settings cannot be used."""
        s = settings or Settings()
        api = SlackApi(s.slack_api_url, s.slack_bot_token, s.slack_admin_token)
        return cls(
            api=api,
            settings=s,
            args_keys=ArgsKeys.from_setting(s.args_keys),
            rate_limits=SharedRateLimits(enabled=s.slack_shared_rate_limits),
            oauth=OAuthApp.from_settings(s),
        )

    def for_job(self, job: Job) -> SlackContext:
        """This context for the job's workspace: its installation's tokens (OAuth), else
        the Secret's (``PIIQ_SLACK_BOT_TOKEN``/``ADMIN_TOKEN``); calls going through the
        workspace's shared rate limits (on the job's database), when they are on.
        Raises SlackCallFailed (kind auth) when neither has tokens for the workspace."""
        api = self._workspace_api(job)
        limits = self.rate_limits.workspace(job.client, str(job.args.get("team") or ""))
        api = api.within(limits) if limits is not None else api
        return replace(self, api=api) if api is not self.api else self

    def _workspace_api(self, job: Job) -> SlackApi:
        if self.oauth is None or job.client is None:
            return self.api  # one workspace, tokens from the Secret: as before OAuth
        installed = installation_for(self.oauth, job.client, JobWorkspace.of(job.args))
        if installed is None:
            if self.api.bot is None:
                raise SlackCallFailed(SlackFailure("installation", "not_installed", "auth"))
            return self.api
        return SlackApi(
            self.api.base_url,
            _secret(installed.bot_token),
            _secret(installed.user_token),
            timeout=self.api.timeout,
        )

    @property
    def detector(self) -> Detector:
        s = self.settings
        return _detector(s.spacy_model, s.policy_file, s.recognizers_file, tuple(s.phone_regions))

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run

    @property
    def admin_channel(self) -> str | None:
        return self.settings.admin_channel

    @property
    def max_file_bytes(self) -> int:
        return self.settings.max_file_bytes


def _secret(token: str | None) -> SecretStr | None:
    return SecretStr(token) if token else None


@cache
def _detector(
    model: str, policy_file: str | None, recognizers_file: str | None, regions: tuple[str, ...]
) -> Detector:
    """One detector per process and configuration: loading the model takes seconds."""
    from ..detect import Detector  # Presidio is heavy: only workers that scan import it

    return Detector.create(
        model=model,
        policy_file=policy_file,
        recognizers_file=recognizers_file,
        phone_regions=regions,
    )
