"""The Web API methods piiq calls, answered as Slack answers them (HTTP 200 with
``ok: false`` for API errors, 429 with Retry-After for rate limits), over the workspace;
every call is recorded, and injected faults come first. Also the file hosting behind
``url_private``, which answers a request without a valid token with Slack's sign-in page.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import conversations
from .answers import error as _error
from .answers import ok as _ok
from .calls import Call, CallLog
from .faults import Faults
from .interactive_api import InteractiveMethods, json_field
from .limits import MethodLimits
from .tenants import Grant, Tenants
from .uploads import UploadMethods
from .workspace import ADMIN_USER_ID, BOT_ID, BOT_USER_ID, Workspace, dm_channel


class WebApi(InteractiveMethods, UploadMethods):
    """``/api/{method}``: ``handle`` answers a request; ``socket_url`` is where
    apps.connections.open sends a Socket Mode app. ``workspace`` is the workspace of the
    call being answered (the token's: ``tenants``), set under the lock for each call."""

    def __init__(
        self,
        tenants: Tenants,
        faults: Faults,
        limits: MethodLimits,
        calls: CallLog,
        socket_url: Callable[[], str],
    ) -> None:
        self.tenants = tenants
        self.workspace = tenants.default
        self.faults = faults
        self.limits = limits
        self.calls = calls
        self.socket_url = socket_url
        self.origin = ""

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(await request.post())
        auth = request.headers.get("Authorization", "")
        token = (
            auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
        )
        with self.workspace.lock:
            self.workspace = self.tenants.default
            self.origin = f"{request.url.scheme}://{request.host}"
            response = self.answer(method, args, token)
            body = json.loads(response.text or "{}")
            grant = self.tenants.grants.get(token or "")
            call = Call(
                method=method,
                args={k: v for k, v in args.items() if k != "token"},
                token=grant.kind if grant else "none" if not token else "unknown",
                status=response.status,
                error=None if body.get("ok") else body.get("error", f"http_{response.status}"),
                team=self.workspace.team_id,
                grant=grant.label if grant else "",
            )
            self.calls.record(call)
            hook = self.faults.take_hook(method) if call.error is None else None
        if hook is not None:
            await asyncio.to_thread(hook, call)
        return response

    def answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        fault = self.faults.take(method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return _error(fault.error, fault.status, headers)
        if not token:
            return _error("not_authed")
        if token in self.tenants.default.revoked:
            return _error("token_revoked")
        grant = self.tenants.grants.get(token)
        if grant is None:
            return _error("invalid_auth")
        if grant.expired():
            return _error("token_expired")
        self.workspace = self.tenants.workspace_for(grant, args)
        kind = grant.kind
        retry_after = self.limits.admit(self.workspace.team_id, method)
        if retry_after is not None:
            return _error("ratelimited", 429, {"Retry-After": str(retry_after)})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method", 404)
        return handler(args, kind)

    def _m_auth_test(self, args: dict[str, Any], kind: str) -> web.Response:
        user = BOT_USER_ID if kind == "bot" else ADMIN_USER_ID
        extra: dict[str, Any] = {"bot_id": BOT_ID} if kind == "bot" else {}
        workspace = self.workspace
        url = f"https://{workspace.team_id.lower()}.slack.local/"
        if workspace.enterprise_id:
            extra |= {"enterprise_id": workspace.enterprise_id}
            if workspace.org_install:  # an org-wide token: the org's URL, no workspace
                url = f"https://{workspace.enterprise_id.lower()}.enterprise.slack.local/"
                extra |= {"is_enterprise_install": True}
        return _ok(team_id=workspace.team_id, user_id=user, url=url, **extra)

    def _m_chat_delete(self, args: dict[str, Any], kind: str) -> web.Response:
        key = (args.get("channel", ""), args.get("ts", ""))
        message = self.workspace.messages.get(key)
        if message is None:
            return _error("message_not_found")
        if kind != "admin" and message.get("bot_id") != BOT_ID:
            return _error("cant_delete_message")  # a bot deletes only its own messages
        del self.workspace.messages[key]
        return _ok(channel=key[0], ts=key[1])

    def _m_files_info(self, args: dict[str, Any], kind: str) -> web.Response:
        info = self.workspace.files.get(args.get("file", ""))
        return _ok(file=info) if info else _error("file_not_found")

    def _m_files_delete(self, args: dict[str, Any], kind: str) -> web.Response:
        file_id = args.get("file", "")
        if file_id not in self.workspace.files:
            return _error("file_not_found")
        if kind != "admin":
            return _error("cant_delete_file")
        del self.workspace.files[file_id]
        self.workspace.file_bodies.pop(file_id, None)
        return _ok()

    def _m_conversations_open(self, args: dict[str, Any], kind: str) -> web.Response:
        user = args.get("users")
        if not user:
            return _error("users_list_not_supplied")
        if user not in self.workspace.users:
            return _error("user_not_found")
        return _ok(channel={"id": dm_channel(user)})

    def _m_chat_postMessage(self, args: dict[str, Any], kind: str) -> web.Response:
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        metadata = args.get("metadata")
        if isinstance(metadata, str):  # a form post carries it as a JSON string
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return _error("invalid_metadata_format")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            return _error("invalid_metadata_schema")
        ts = self.workspace.new_ts()
        channel = args.get("channel", "")
        self.workspace.known_channel(channel)
        message = {
            "type": "message",
            "channel": channel,
            "text": args.get("text"),
            "ts": ts,
            "bot_id": BOT_ID if kind == "bot" else None,
            "user": BOT_USER_ID if kind == "bot" else ADMIN_USER_ID,
            "app_id": "A0PIIQ",
        }
        if metadata is not None:
            message["metadata"] = metadata
        blocks = json_field(args.get("blocks"))
        if blocks is not None:
            message["blocks"] = blocks
        for name in ("thread_ts", "username", "icon_url"):
            if args.get(name):
                message[name] = args[name]
        self.workspace.messages[(channel, ts)] = message
        shown = {k: v for k, v in message.items() if k != "channel"}
        return _ok(channel=channel, ts=ts, message=shown)

    def _m_conversations_history(self, args: dict[str, Any], kind: str) -> web.Response:
        return _read(conversations.history, self.workspace, args)

    def _m_conversations_replies(self, args: dict[str, Any], kind: str) -> web.Response:
        return _read(conversations.replies, self.workspace, args)

    def _m_users_info(self, args: dict[str, Any], kind: str) -> web.Response:
        user = self.workspace.users.get(args.get("user", ""))
        return _ok(user=user) if user else _error("user_not_found")

    def _m_apps_connections_open(self, args: dict[str, Any], kind: str) -> web.Response:
        if kind != "app":
            return _error("not_allowed_token_type")
        return _ok(url=self.socket_url())

    async def download(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        team, _, file_id = request.match_info["team_file"].rpartition("-")
        with self.tenants.lock:
            grant = self.tenants.grants.get(token)
            if not _opens(grant, team, self.tenants) or token in self.tenants.default.revoked:
                # Slack answers a file fetched without a valid token with its sign-in page.
                page = "<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
                return web.Response(text=page, content_type="text/html")
            workspace = self.tenants.workspaces[team]
            body = workspace.file_bodies.get(file_id)
            info = workspace.files.get(file_id)
        if body is None or info is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type=info["mimetype"])


def _read(
    method: Callable[[Workspace, dict[str, Any]], dict[str, Any]],
    workspace: Workspace,
    args: dict[str, Any],
) -> web.Response:
    try:
        return _ok(**method(workspace, args))
    except conversations.ConversationError as exc:
        return _error(str(exc))


def _opens(grant: Grant | None, team: str, tenants: Tenants) -> bool:
    """A bot or user token, unexpired, of the file's workspace (or of its org, org-wide)."""
    if grant is None or grant.kind not in ("bot", "admin") or grant.expired():
        return False
    workspace = tenants.workspaces.get(team)
    if workspace is None:
        return False
    if grant.team is None:
        return grant.enterprise is not None and grant.enterprise == workspace.enterprise_id
    return grant.team == team
