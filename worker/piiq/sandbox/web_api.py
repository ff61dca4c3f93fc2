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

from .answers import error as _error
from .answers import ok as _ok
from .calls import Call, CallLog
from .faults import Faults
from .interactive_api import InteractiveMethods, json_field
from .limits import MethodLimits
from .workspace import ADMIN_USER_ID, BOT_ID, BOT_USER_ID, TEAM_ID, TOKENS, Workspace, dm_channel


class WebApi(InteractiveMethods):
    """``/api/{method}``: ``handle`` answers a request; ``socket_url`` is where
    apps.connections.open sends a Socket Mode app."""

    def __init__(
        self,
        workspace: Workspace,
        faults: Faults,
        limits: MethodLimits,
        calls: CallLog,
        socket_url: Callable[[], str],
    ) -> None:
        self.workspace = workspace
        self.faults = faults
        self.limits = limits
        self.calls = calls
        self.socket_url = socket_url

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
            response = self.answer(method, args, token)
            body = json.loads(response.text or "{}")
            call = Call(
                method=method,
                args={k: v for k, v in args.items() if k != "token"},
                token=TOKENS.get(token or "", "none" if not token else "unknown"),
                status=response.status,
                error=None if body.get("ok") else body.get("error", f"http_{response.status}"),
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
        if token in self.workspace.revoked:
            return _error("token_revoked")
        kind = TOKENS.get(token)
        if kind is None:
            return _error("invalid_auth")
        retry_after = self.limits.admit(TEAM_ID, method)
        if retry_after is not None:
            return _error("ratelimited", 429, {"Retry-After": str(retry_after)})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method", 404)
        return handler(args, kind)

    def _m_auth_test(self, args: dict[str, Any], kind: str) -> web.Response:
        user = BOT_USER_ID if kind == "bot" else ADMIN_USER_ID
        extra = {"bot_id": BOT_ID} if kind == "bot" else {}
        return _ok(team_id=TEAM_ID, user_id=user, url="https://sandbox.slack.local/", **extra)

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
        """Newest first, ``oldest``/``latest`` exclusive unless ``inclusive``, pages of
        ``limit`` (default 100) with a cursor; message metadata only with
        ``include_all_metadata`` (without it, Slack shows just the event_type)."""
        channel = args.get("channel", "")
        if not channel:
            return _error("channel_not_found")
        inclusive = _flag(args.get("inclusive"))
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
            limit = min(max(int(args.get("limit") or 100), 1), 999)
            offset = int(args.get("cursor") or 0)
        except ValueError:
            return _error("invalid_arguments")

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = sorted(
            (m for (c, _), m in self.workspace.messages.items() if c == channel),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        found = [m for m in found if within(float(m["ts"]))]
        page = found[offset : offset + limit]
        all_metadata = _flag(args.get("include_all_metadata"))
        messages = []
        for message in page:
            shown = {k: v for k, v in message.items() if k != "channel" and v is not None}
            if "metadata" in shown and not all_metadata:
                shown["metadata"] = {"event_type": shown["metadata"]["event_type"]}
            messages.append(shown)
        more = offset + limit < len(found)
        return _ok(
            messages=messages,
            has_more=more,
            response_metadata={"next_cursor": str(offset + limit) if more else ""},
        )

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
        if TOKENS.get(token) not in ("bot", "admin") or token in self.workspace.revoked:
            # Slack answers a file fetched without a valid token with its sign-in page.
            page = "<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
            return web.Response(text=page, content_type="text/html")
        file_id = request.match_info["team_file"].rpartition("-")[2]
        with self.workspace.lock:
            body = self.workspace.file_bodies.get(file_id)
            info = self.workspace.files.get(file_id)
        if body is None or info is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type=info["mimetype"])


def _flag(value: Any) -> bool:
    """A boolean parameter as Slack reads it: true, 1 (what slack_sdk sends for True)."""
    return str(value).lower() in ("1", "true")
