"""Slack's rate limits, shared by every worker of a deployment through PostgreSQL.

Slack counts calls per method, per workspace, per app: 20 pods spend one budget. When one
worker gets a 429 for method M in workspace W, it records "M blocked in W until now +
Retry-After" (``piiq_slack_rate_limits``); every worker reads that before it calls M, and
snoozes its job until then instead of calling. So a limit costs the deployment a few
429s (the calls already on their way), not one per worker and job.

The read is one primary-key lookup per Slack call (a PII message makes three calls; a
clean one none). A block this process learnt of is kept in memory until it ends, so
while M is blocked no read is needed; "not blocked" is never kept, or a worker would call
past another's fresh 429. Any database trouble here lets the call through: sharing saves
429s, it must not stop the work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
import structlog

from ..queue import load_sql

if TYPE_CHECKING:
    from ..queue import Client

log = structlog.get_logger("piiq.slack")

_PACKAGE = "piiq.slack"
# Methods Slack limits per channel (chat.postMessage: about one a second in a channel): a
# 429 in one DM must not hold the DMs to everyone else.
PER_CHANNEL = frozenset({"chat.postMessage"})
# A missing table (a database not migrated since) is looked for again after this long.
RECHECK_MISSING_S = 60.0


def create_rate_limit_table(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    """Idempotent; ``piiq migrate`` runs it (``create_slack_tables``)."""
    conn.execute(load_sql("rate_limits_up.sql", prefix, _PACKAGE))


def scope_of(method: str, params: Mapping[str, object]) -> str:
    """What Slack counts the method's calls within, beyond the workspace ('' for none)."""
    return str(params.get("channel") or "") if method in PER_CHANNEL else ""


@dataclass
class SharedRateLimits:
    """One per worker process: the blocks it knows of, and whether the table is there."""

    enabled: bool = True
    _until: dict[tuple[str, ...], float] = field(default_factory=dict)  # key -> monotonic end
    _missing_until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def workspace(self, client: Client | None, team: str) -> WorkspaceLimits | None:
        """The limits one job's calls go through (None: calls are not shared)."""
        if not self.enabled or client is None or client.testing == "inline":
            return None
        return WorkspaceLimits(self, client, team)

    def known(self, key: tuple[str, ...]) -> float:
        with self._lock:
            left = self._until.get(key, 0.0) - time.monotonic()
            if left <= 0:
                self._until.pop(key, None)
        return max(left, 0.0)

    def remember(self, key: tuple[str, ...], seconds: float) -> None:
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), time.monotonic() + seconds)

    def table_missing(self, prefix: str) -> None:
        with self._lock:
            warn = self._missing_until == 0.0
            self._missing_until = time.monotonic() + RECHECK_MISSING_S
        if warn:
            log.warning(
                "slack rate limits are not shared: the table is missing",
                table=f"{prefix}.piiq_slack_rate_limits",
                fix="run piiq migrate",
            )

    @property
    def table_usable(self) -> bool:
        return time.monotonic() >= self._missing_until


@dataclass(frozen=True, slots=True)
class WorkspaceLimits:
    """A workspace's shared limits, read and written on the job's database."""

    shared: SharedRateLimits
    client: Client
    team: str

    def wait(self, method: str, params: Mapping[str, object]) -> float:
        """Seconds until ``method`` may be called (0: call now)."""
        key = self._key(method, params)
        left = self.shared.known(key)
        if left > 0 or not self.shared.table_usable:
            return left
        row = self._run("rate_limit_wait.sql", key)
        seconds = float(row[0]) if row else 0.0
        if seconds > 0:
            self.shared.remember(key, seconds)
        return seconds

    def block(self, method: str, params: Mapping[str, object], seconds: float) -> float:
        """Record Slack's 429 for every worker; returns how long the block lasts (at least
        ``seconds``, longer when another worker recorded a later end)."""
        key = self._key(method, params)
        self.shared.remember(key, seconds)
        if not self.shared.table_usable:
            return seconds
        row = self._run("rate_limit_block.sql", key, seconds=seconds)
        left = max(float(row[0]), seconds) if row else seconds
        self.shared.remember(key, left)
        log.info("slack rate limit shared", method=method, team=self.team, blocked_s=left)
        return left

    def _key(self, method: str, params: Mapping[str, object]) -> tuple[str, ...]:
        return (self.client.prefix, self.team, method, scope_of(method, params))

    def _run(self, name: str, key: tuple[str, ...], **extra: float) -> tuple[Any, ...] | None:
        prefix, team, method, scope = key
        params = {"team": team, "method": method, "scope": scope, **extra}
        try:
            with self.client.connection() as conn:
                return conn.execute(load_sql(name, prefix, _PACKAGE), params).fetchone()
        except psycopg.errors.UndefinedTable:
            self.shared.table_missing(prefix)
        except psycopg.Error as exc:  # the call goes ahead: Slack itself still says 429
            log.warning("slack rate limits not read", method=method, error=type(exc).__name__)
        return None
