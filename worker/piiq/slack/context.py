"""What a Slack worker needs, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING

from ..runtime.argscrypt import ArgsKeys
from ..runtime.settings import Settings
from .api import SlackApi
from .ratelimits import SharedRateLimits

if TYPE_CHECKING:
    from ..detect import Detector
    from ..queue import Job


@dataclass
class SlackContext:
    api: SlackApi
    settings: Settings = field(repr=False)
    args_keys: ArgsKeys | None = field(default=None, repr=False)
    rate_limits: SharedRateLimits = field(default_factory=SharedRateLimits, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SlackContext:
        """Raises ArgsKeyError (one line, no key) when PIIQ_ARGS_KEYS cannot be read."""
        s = settings or Settings()
        api = SlackApi(s.slack_api_url, s.slack_bot_token, s.slack_admin_token)
        return cls(
            api=api,
            settings=s,
            args_keys=ArgsKeys.from_setting(s.args_keys),
            rate_limits=SharedRateLimits(enabled=s.slack_shared_rate_limits),
        )

    def for_job(self, job: Job) -> SlackContext:
        """This context with Slack calls going through the job's workspace's shared rate
        limits (on the job's database), when they are on."""
        limits = self.rate_limits.workspace(job.client, str(job.args.get("team") or ""))
        return replace(self, api=self.api.within(limits)) if limits is not None else self

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
