"""Which installation a job's Slack calls use, found as slack_sdk and Bolt find it, with its
tokens refreshed first when they are about to expire.

A job carries its workspace (``team``) and, in Enterprise Grid, its org (``enterprise``)
and whether the app is installed org-wide (``enterprise_install``), as the event envelope
said; never a token. An org-wide install is found by the org alone; a workspace install by
org and workspace; a workspace of an org without its own install falls back to the org's.

Refreshing (``oauth.v2.access`` with ``grant_type=refresh_token``, slack_sdk's
``TokenRotator``) happens with the installation's row locked: pods racing to refresh the
same installation wait for the first, then find its fresh tokens and do not refresh again
(Slack's refresh token may be spent by the first).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation

from .api import SlackCallFailed, SlackFailure, classify
from .oauth_app import REFRESH_BEFORE_MINUTES, OAuthApp

if TYPE_CHECKING:
    from ..queue import Client

log = structlog.get_logger("piiq.slack")

REFRESH = "oauth.v2.access"


@dataclass(frozen=True, slots=True)
class JobWorkspace:
    """Where a job's message is, as its args say (safe to log: ids only)."""

    team: str | None
    enterprise: str | None = None
    enterprise_install: bool = False

    @classmethod
    def of(cls, args: Mapping[str, Any]) -> JobWorkspace:
        return cls(
            team=args.get("team") or None,
            enterprise=args.get("enterprise") or None,
            enterprise_install=bool(args.get("enterprise_install")),
        )


def installation_for(app: OAuthApp, client: Client, where: JobWorkspace) -> Installation | None:
    """The installation whose tokens serve ``where``, refreshed when near expiry; None
    when there is none (the caller falls back to the Secret's tokens, if any)."""
    store = app.store(client)
    candidates = [(where.team, where.enterprise_install)]
    if where.enterprise and not where.enterprise_install:
        candidates.append((None, True))  # a workspace of an org installed org-wide
    for team, org_wide in candidates:
        found = store.find_installation(
            enterprise_id=where.enterprise, team_id=team, is_enterprise_install=org_wide
        )
        if found is not None:
            return _fresh(app, client, found) if _expiring(found) else found
    return None


def _expiring(installation: Installation) -> bool:
    soon = time.time() + REFRESH_BEFORE_MINUTES * 60
    return any(
        at is not None and at <= soon
        for at in (installation.bot_token_expires_at, installation.user_token_expires_at)
    )


def _fresh(app: OAuthApp, client: Client, found: Installation) -> Installation:
    store = app.store(client)
    org_wide = bool(found.is_enterprise_install)
    with store.locked(found.enterprise_id, found.team_id, org_wide) as (conn, current):
        if current is None:  # uninstalled meanwhile
            raise SlackCallFailed(SlackFailure("installation", "not_installed", "auth"))
        try:
            rotated = app.rotator().perform_token_rotation(
                installation=current, minutes_before_expiration=REFRESH_BEFORE_MINUTES
            )
        except SlackTokenRotationError as exc:
            raise SlackCallFailed(_refresh_failure(exc)) from None
        if rotated is None:
            return current  # another pod refreshed it while this one waited for the lock
        store.save_on(conn, rotated)
    log.info(
        "slack tokens refreshed",
        team=found.team_id,
        enterprise=found.enterprise_id,
        bot_expires_at=rotated.bot_token_expires_at,
        user_expires_at=rotated.user_token_expires_at,
    )
    return rotated


def _refresh_failure(exc: SlackTokenRotationError) -> SlackFailure:
    return classify(REFRESH, exc.api_error)  # the SDK wraps only a SlackApiError
