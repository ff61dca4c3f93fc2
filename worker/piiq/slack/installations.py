"""Slack installations in PostgreSQL (``piiq_slack_installations``), tokens encrypted.

``PostgresInstallationStore`` implements slack_sdk's ``InstallationStore`` (save,
find_installation, find_bot, delete_installation, delete_bot, delete_all), so slack_sdk's
own helpers (and Bolt's authorize) can use it. One row per app, org, workspace and
installing user; ``find_installation`` without a user gives the latest install, whose bot
token is current. The four tokens (bot, bot refresh, user, user refresh) are sealed in
one AES-256-GCM box per row with the keys of ``PIIQ_SLACK_TOKEN_KEYS`` (else
``PIIQ_ARGS_KEYS``), bound to the row's app, org, workspace and user: a box copied into
another row does not open. Keys rotate as the args keys do: a new key first encrypts the
next save (a refresh, a reinstall), the old ones after it still decrypt.

Lookups follow slack_sdk: an org-wide install (``is_enterprise_install``) is found by its
org alone, a workspace install by org and workspace (the org is '' outside Grid).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore

from ..queue import load_sql
from ..runtime.argscrypt import ArgsKeys

if TYPE_CHECKING:
    from ..queue import Client

_PACKAGE = "piiq.slack"
TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
_log = logging.getLogger("piiq.slack.installations")


def create_installation_tables(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    """Idempotent: installations and OAuth states (``create_slack_tables`` runs it)."""
    conn.execute(load_sql("installations_up.sql", prefix, _PACKAGE))


def installation_key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> tuple[str, str]:
    """(org, workspace) as rows are keyed: an org-wide install has no workspace."""
    return enterprise_id or "", "" if is_enterprise_install else team_id or ""


class PostgresInstallationStore(InstallationStore):
    def __init__(self, client: Client, client_id: str, keys: ArgsKeys) -> None:
        self.client = client
        self.client_id = client_id
        self.keys = keys

    def __repr__(self) -> str:
        return f"PostgresInstallationStore(client_id={self.client_id!r}, keys={self.keys!r})"

    @property
    def logger(self) -> logging.Logger:
        return _log

    # slack_sdk's interface ----------------------------------------------------------------

    def save(self, installation: Installation) -> None:
        with self.client.connection() as conn:
            self.save_on(conn, installation)

    def save_bot(self, bot: Bot) -> None:
        """A bot's new tokens (a refresh) go into the latest installation of its workspace."""
        with self.client.connection() as conn, conn.transaction():
            current = self._find(conn, bot.enterprise_id, bot.team_id, None, bot.is_enterprise_install, lock=True)  # fmt: skip
            if current is None:
                return
            current.bot_token, current.bot_refresh_token = bot.bot_token, bot.bot_refresh_token
            current.bot_token_expires_at = bot.bot_token_expires_at
            self.save_on(conn, current)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        with self.client.connection() as conn:
            return self._find(conn, enterprise_id, team_id, user_id, is_enterprise_install)

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = self.find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None and found.bot_token else None

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self._delete(enterprise_id, team_id, user_id)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The bot goes with its installations: piiq keeps it in the same rows."""
        self._delete(enterprise_id, team_id, None)

    # for token rotation (``rotation``) -------------------------------------------------

    @contextmanager
    def locked(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool
    ) -> Iterator[tuple[psycopg.Connection[Any], Installation | None]]:
        """The latest installation with its row locked until the block ends: a refresh
        done inside is done once, however many pods try at the same time."""
        with self.client.connection() as conn, conn.transaction():
            yield conn, self._find(conn, enterprise_id, team_id, None, is_enterprise_install, lock=True)  # fmt: skip

    def save_on(self, conn: psycopg.Connection[Any], installation: Installation) -> None:
        enterprise, team = installation_key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        values = installation.to_dict_for_copying()
        secrets = {name: values.pop(name) for name in TOKENS}
        installed_at = values.pop("installed_at")
        details = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
        plain = json.dumps(secrets, separators=(",", ":")).encode()
        key = (enterprise, team, installation.user_id)
        params = {
            "client_id": self.client_id,
            "enterprise_id": enterprise,
            "team_id": team,
            "user_id": installation.user_id,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "installed_at": installed_at.astimezone(UTC).replace(tzinfo=None),
            "details": Jsonb(details),
            "sealed": Jsonb(self.keys.encrypt(plain, self._bound(*key))),
        }
        conn.execute(self._sql("save_installation.sql"), params)

    # ---------------------------------------------------------------------------------

    def _find(
        self,
        conn: psycopg.Connection[Any],
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        is_enterprise_install: bool | None,
        *,
        lock: bool = False,
    ) -> Installation | None:
        enterprise, team = installation_key(enterprise_id, team_id, is_enterprise_install)
        params = {
            "client_id": self.client_id,
            "enterprise_id": enterprise,
            "team_id": team,
            "user_id": user_id,
        }
        name = "find_installation_locked.sql" if lock else "find_installation.sql"
        row = conn.execute(self._sql(name), params).fetchone()
        if row is None:
            return None
        _, enterprise, team, user, _, installed_at, details, sealed = row
        what = f"the tokens of the installation of {enterprise or '-'}/{team or '-'}"
        secrets = json.loads(self.keys.decrypt(sealed, self._bound(enterprise, team, user), what))
        return Installation(
            **{**details, **secrets, "installed_at": installed_at.replace(tzinfo=UTC)}
        )

    def _delete(self, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> None:
        delete_installations(self.client, self.client_id, enterprise_id, team_id, user_id)

    def _bound(self, enterprise: str, team: str, user: str) -> bytes:
        return json.dumps(
            ["piiq-slack-installation", self.client_id, enterprise, team, user]
        ).encode()

    def _sql(self, name: str) -> str:
        return load_sql(name, self.client.prefix, _PACKAGE)


def delete_installations(
    client: Client,
    client_id: str,
    enterprise_id: str | None,
    team_id: str | None,
    user_id: str | None,
) -> None:
    """A workspace's (or org's) installations, or one user's: no keys needed to delete."""
    params = {
        "client_id": client_id,
        "enterprise_id": enterprise_id or "",
        "team_id": team_id or "",
        "user_id": user_id,
    }
    with client.connection() as conn:
        conn.execute(load_sql("delete_installations.sql", client.prefix, _PACKAGE), params)
