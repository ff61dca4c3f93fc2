"""Installing the app into a workspace or an org: slack_sdk's OAuth flow on the ingress.

``GET /slack/install`` issues a one-time state (``piiq_slack_oauth_states``, expiring
after ``PIIQ_SLACK_OAUTH_STATE_SECONDS``), sets it in a cookie bound to the browser, and
sends the person to Slack's authorize page (``AuthorizeUrlGenerator``). Slack sends them
back to ``GET /slack/oauth_redirect`` with a code and the state: the state must match the
cookie and be consumed from the store (once, before it expires), then the code is
exchanged (``oauth.v2.access``) and the installation saved, tokens encrypted
(``PostgresInstallationStore``). Any failure is a page saying what went wrong and where
to start again (``RedirectUriPageRenderer``), with a 4xx status; no token is logged.
``app_uninstalled`` and ``tokens_revoked`` events delete what the store holds for them.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
import structlog
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator, RedirectUriPageRenderer
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.state_utils import OAuthStateUtils

from ..queue import load_sql
from .installations import delete_installations, installation_key
from .oauth_app import INSTALL_PATH, REDIRECT_PATH, OAuthApp

if TYPE_CHECKING:
    from ..queue import Client

log = structlog.get_logger("piiq.ingress")

_PACKAGE = "piiq.slack"
FORGET_EVENTS = ("app_uninstalled", "tokens_revoked")


class PostgresOAuthStateStore(OAuthStateStore):
    """slack_sdk's state store interface over ``piiq_slack_oauth_states``: a state is
    accepted once, and only before it expires; every ingress replica shares them."""

    def __init__(self, client: Client, expiration_seconds: int) -> None:
        self.client = client
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> Any:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        params = {"state": state, "seconds": self.expiration_seconds}
        with self.client.connection() as conn:
            conn.execute(self._sql("issue_oauth_state.sql"), params)
        return state

    def consume(self, state: str) -> bool:
        with self.client.connection() as conn:
            row = conn.execute(self._sql("consume_oauth_state.sql"), {"state": state}).fetchone()
        return row is not None

    def _sql(self, name: str) -> str:
        return load_sql(name, self.client.prefix, _PACKAGE)


class InstallFailed(Exception):
    """Why an install did not complete, in words for the person at the browser."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass
class Uninstalls:
    """``app_uninstalled`` and ``tokens_revoked`` (Events API): delete what the store
    holds for them, as Bolt does. Needs the client id only (no client secret, no token
    keys), so an events-only ingress (``piiq ingress --routes events``) can do it."""

    client: Client
    client_id: str

    async def forget(self, envelope: dict[str, Any]) -> bool:
        """True when the envelope was one of those events (its installations are gone)."""
        event = envelope.get("event") or {}
        kind = event.get("type")
        if envelope.get("type") != "event_callback" or kind not in FORGET_EVENTS:
            return False
        authorization = (envelope.get("authorizations") or [{}])[0] or {}
        enterprise = envelope.get("enterprise_id") or authorization.get("enterprise_id")
        org_wide = bool(authorization.get("is_enterprise_install"))
        _, team = installation_key(enterprise, envelope.get("team_id"), org_wide)
        tokens = event.get("tokens") or {}
        users = [None] if kind == "app_uninstalled" or tokens.get("bot") else tokens.get("oauth")
        for user in users or []:
            await asyncio.to_thread(
                delete_installations, self.client, self.client_id, enterprise, team, user
            )
        log.info(
            "slack installation deleted", slack_event=kind, team=team or None, enterprise=enterprise
        )
        return True


@dataclass
class OAuthFlow:
    app: OAuthApp
    client: Client

    def __post_init__(self) -> None:
        self.store = self.app.store(self.client)
        self.uninstalls = Uninstalls(self.client, self.app.client_id)
        self.states = PostgresOAuthStateStore(self.client, self.app.state_seconds)
        self.cookies = OAuthStateUtils(expiration_seconds=self.app.state_seconds)
        self.urls = AuthorizeUrlGenerator(
            client_id=self.app.client_id,
            redirect_uri=self.app.redirect_uri,
            scopes=list(self.app.scopes),
            user_scopes=list(self.app.user_scopes),
            authorization_url=self.app.authorization_url,
        )
        self.pages = RedirectUriPageRenderer(
            install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH
        )

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(INSTALL_PATH, self.install)
        app.router.add_get(REDIRECT_PATH, self.redirect)

    async def install(self, request: web.Request) -> web.Response:
        try:
            state = await asyncio.to_thread(self.states.issue)
        except psycopg.Error as exc:
            log.error("oauth state not issued", error=type(exc).__name__)
            return web.Response(status=503, text="the database is unreachable; try again soon")
        headers = {
            "Location": self.urls.generate(state),
            "Set-Cookie": self.cookies.build_set_cookie_for_new_state(state),
        }
        return web.Response(status=302, headers=headers)

    async def redirect(self, request: web.Request) -> web.Response:
        try:
            installation = await asyncio.to_thread(self._complete, request)
        except InstallFailed as exc:
            log.warning("slack install refused", reason=exc.reason)
            page = self.pages.render_failure_page(exc.reason)
            return self._page(page, exc.status)
        log.info(
            "slack app installed",
            team=installation.team_id,
            enterprise=installation.enterprise_id,
            org_wide=installation.is_enterprise_install,
            installer=installation.user_id,
            bot_scopes=installation.bot_scopes,
            user_scopes=installation.user_scopes,
            rotation=installation.bot_token_expires_at is not None,
        )
        page = self.pages.render_success_page(
            app_id=installation.app_id or "",
            team_id=installation.team_id,
            is_enterprise_install=installation.is_enterprise_install,
            enterprise_url=installation.enterprise_url,
        )
        return self._page(page, 200)

    def _page(self, html: str, status: int) -> web.Response:
        response = web.Response(status=status, text=html, content_type="text/html")
        response.headers["Set-Cookie"] = self.cookies.build_set_cookie_for_deletion()
        return response

    def _complete(self, request: web.Request) -> Installation:
        query = request.query
        if query.get("error"):
            raise InstallFailed(f"Slack did not authorize the app: {query['error']}")
        state, code = query.get("state"), query.get("code")
        if not state:
            raise InstallFailed("the request has no state: start again from the install link")
        if not self.cookies.is_valid_browser(
            state, {"cookie": request.headers.getall("Cookie", [])}
        ):
            raise InstallFailed(
                "this browser did not start this install (the state cookie is missing or "
                "differs): start again from the install link in the same browser"
            )
        try:
            valid = self.states.consume(state)
        except psycopg.Error:
            raise InstallFailed("the database is unreachable; try again soon", 503) from None
        if not valid:
            raise InstallFailed(
                "the install link has expired or was already used: start again from the "
                "install link"
            )
        if not code:
            raise InstallFailed("Slack sent no code: start again from the install link")
        try:
            installation = self._exchange(code)
            self.store.save(installation)
        except SlackApiError as exc:
            error = exc.response.get("error") or f"http_{exc.response.status_code}"
            raise InstallFailed(f"Slack refused the code ({error}): start again") from None
        except psycopg.Error:
            raise InstallFailed("the database is unreachable; try again soon", 503) from None
        return installation

    def _exchange(self, code: str) -> Installation:
        """The code for tokens, as Bolt builds the installation from Slack's answer."""
        client = self.app.web_client()
        answer = client.oauth_v2_access(
            client_id=self.app.client_id,
            client_secret=self.app.client_secret.get_secret_value(),
            code=code,
            redirect_uri=self.app.redirect_uri,
        )
        enterprise = answer.get("enterprise") or {}
        team = answer.get("team") or {}
        installer = answer.get("authed_user") or {}
        installer_id = installer.get("id")
        if not isinstance(installer_id, str) or not installer_id:
            # Slack always names the installing user; an installation is stored under it.
            raise InstallFailed("Slack's answer names no installing user: start again", 502)
        org_wide = bool(answer.get("is_enterprise_install"))
        bot_token = answer.get("access_token")
        bot_id, enterprise_url = None, None
        if bot_token:
            checked = client.auth_test(token=bot_token)
            bot_id = checked.get("bot_id")
            enterprise_url = checked.get("url") if org_wide else None
        return Installation(
            app_id=answer.get("app_id"),
            enterprise_id=enterprise.get("id"),
            enterprise_name=enterprise.get("name"),
            enterprise_url=enterprise_url,
            team_id=team.get("id"),
            team_name=team.get("name"),
            bot_token=bot_token,
            bot_id=bot_id,
            bot_user_id=answer.get("bot_user_id"),
            bot_scopes=answer.get("scope") or "",
            bot_refresh_token=answer.get("refresh_token"),
            bot_token_expires_in=answer.get("expires_in"),
            user_id=installer_id,
            user_token=installer.get("access_token"),
            user_scopes=installer.get("scope") or "",
            user_refresh_token=installer.get("refresh_token"),
            user_token_expires_in=installer.get("expires_in"),
            is_enterprise_install=org_wide,
            token_type=answer.get("token_type"),
        )
