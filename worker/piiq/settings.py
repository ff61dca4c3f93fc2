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
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level written to the log."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="json: one JSON object per line; console: for people; auto: console "
        "on a terminal, json otherwise.",
    )
