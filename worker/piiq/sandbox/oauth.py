"""Slack's side of OAuth: the authorize page and ``oauth.v2.access``.

``GET /oauth/v2/authorize`` stands for the page where a person picks a workspace and
allows the app: it answers at once with the redirect Slack would make, to the app's
Redirect URL with a one-time ``code`` and the app's ``state``. Which workspace is picked
is the sandbox's own ``team`` parameter (the default workspace without it); ``enterprise``
alone picks an Enterprise Grid org for an org-wide install. ``oauth.v2.access`` exchanges
the code for a bot token and the installing admin's user token (for the user scopes), and
with ``rotation`` on gives them an ``expires_in`` and a refresh token; a refresh grant
(single use) gives a new pair. Codes are single use and expire after ten minutes.
"""

from __future__ import annotations

import base64
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .calls import Call, CallLog
from .tenants import Tenants
from .workspace import ADMIN_USER_ID, BOT_USER_ID

CLIENT_ID = "1000000001.2000000002"
CLIENT_SECRET = "sandbox-client-secret"
APP_ID = "A0PIIQ"
CODE_SECONDS = 600
ACCESS = "oauth.v2.access"


@dataclass
class _Code:
    team: str | None
    enterprise: str | None
    scope: str
    user_scope: str
    redirect_uri: str | None
    expires_at: float


class SandboxOAuth:
    """``redirect_uri`` is the app's configured Redirect URL (a test sets it once the
    app's port is known); ``token_lifetime`` applies with ``rotation`` on. With
    ``names_installer`` off the code exchange's answer has no ``authed_user.id`` (a
    malformed answer: Slack's always names the installing user)."""

    def __init__(self, tenants: Tenants, calls: CallLog) -> None:
        self.tenants = tenants
        self.calls = calls
        self.redirect_uri: str | None = None
        self.rotation = False
        self.token_lifetime = 12 * 3600  # Slack's: 12 hours
        self.names_installer = True
        self._codes: dict[str, _Code] = {}

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="invalid client_id")
        redirect = query.get("redirect_uri") or self.redirect_uri
        if not redirect:
            return web.Response(status=400, text="the app has no Redirect URL")
        team, enterprise = query.get("team") or None, query.get("enterprise") or None
        with self.tenants.lock:
            if team is not None and team not in self.tenants.workspaces:
                return web.Response(status=400, text=f"no workspace {team}")
            if team is None and enterprise is None:
                team = self.tenants.default.team_id
            if team is not None:
                enterprise = self.tenants.workspaces[team].enterprise_id
            elif not self.tenants.in_org(enterprise or ""):
                return web.Response(status=400, text=f"no org {enterprise}")
            code = secrets.token_hex(12)
            self._codes[code] = _Code(
                team,
                enterprise,
                query.get("scope", ""),
                query.get("user_scope", ""),
                query.get("redirect_uri"),
                time.time() + CODE_SECONDS,
            )
        target = _with_query(redirect, code=code, state=query.get("state", ""))
        return web.Response(status=302, headers={"Location": target})

    async def access(self, request: web.Request) -> web.Response:
        args: dict[str, Any] = dict(request.query)
        args.update(await request.post())
        client_id, client_secret = _client(request, args)
        with self.tenants.lock:
            answer, team = self._answer(args, client_id, client_secret)
            shown = {k: v for k, v in args.items() if k in ("grant_type", "redirect_uri")}
            error = None if answer.get("ok") else answer.get("error")
            self.calls.record(Call(ACCESS, shown, "none", 200, error, team=team or ""))
        return web.json_response(answer)

    def _answer(
        self, args: dict[str, Any], client_id: str, client_secret: str
    ) -> tuple[dict[str, Any], str | None]:
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return {"ok": False, "error": "invalid_client_id"}, None
        if args.get("grant_type") == "refresh_token":
            return self._refresh(str(args.get("refresh_token") or ""))
        code = self._codes.pop(str(args.get("code") or ""), None)
        if code is None or code.expires_at < time.time():
            return {"ok": False, "error": "invalid_code"}, None
        if code.redirect_uri is not None and args.get("redirect_uri") != code.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}, code.team
        return self._install(code), code.team

    def _install(self, code: _Code) -> dict[str, Any]:
        org_wide = code.team is None
        if org_wide:
            for workspace in self.tenants.in_org(code.enterprise or ""):
                workspace.org_install = True
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": APP_ID,
            "scope": code.scope,
            "bot_user_id": BOT_USER_ID,
            "team": None if org_wide else {"id": code.team, "name": code.team},
            "enterprise": {"id": code.enterprise, "name": code.enterprise}
            if code.enterprise
            else None,
            "is_enterprise_install": org_wide,
            "authed_user": {"id": ADMIN_USER_ID} if self.names_installer else {},
            **self._tokens(code.team, code.enterprise, "bot"),
        }
        if code.user_scope:
            user = {"scope": code.user_scope, **self._tokens(code.team, code.enterprise, "admin")}
            answer["authed_user"] |= user | {"token_type": "user"}
        return answer

    def _tokens(self, team: str | None, enterprise: str | None, kind: str) -> dict[str, Any]:
        lifetime = self.token_lifetime if self.rotation else None
        token, refresh = self.tenants.issue(team, enterprise, kind, lifetime)
        fields: dict[str, Any] = {
            "access_token": token,
            "token_type": "bot" if kind == "bot" else "user",
        }
        if refresh is not None:
            fields |= {"refresh_token": refresh, "expires_in": lifetime}
        return fields

    def _refresh(self, refresh_token: str) -> tuple[dict[str, Any], str | None]:
        owner = self.tenants.refresh_tokens.pop(refresh_token, None)
        if owner is None:
            return {"ok": False, "error": "invalid_refresh_token"}, None
        team, enterprise, kind = owner
        answer = {
            "ok": True,
            "app_id": APP_ID,
            "team": {"id": team} if team else None,
            "enterprise": {"id": enterprise} if enterprise else None,
            **self._tokens(team, enterprise, kind),
        }
        return answer, team


def _client(request: web.Request, args: dict[str, Any]) -> tuple[str, str]:
    """Client credentials from HTTP Basic auth (what slack_sdk sends) or the form."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            pair = base64.b64decode(auth.removeprefix("Basic ")).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = pair.partition(":")
        return client_id, secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = "&".join(p for p in (parts.query, urllib.parse.urlencode(params)) if p)
    return urllib.parse.urlunsplit(parts._replace(query=query))
