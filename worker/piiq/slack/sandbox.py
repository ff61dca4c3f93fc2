"""A local Slack: the Web API methods piiq calls, file hosting, and signed event delivery.

The demo and the tests point the real ``slack_sdk`` clients at it (``base_url``), so every
request crosses HTTP as it would to slack.com. It keeps a small workspace (users,
messages, files), answers as Slack does (HTTP 200 with ``ok: false`` for API errors, 429
with Retry-After for rate limits, an HTML sign-in page for a file fetched without a
token), records every call, enforces per-method limits per workspace (``MethodLimits``),
and can inject rate limits and errors. It also plays Slack's
side of the Events API: ``post_message`` stores a message and ``deliver`` sends the
signed event to an ingress URL.

Nothing here is secret: the sandbox's tokens are fixed strings.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0SANDBOX"
BOT_TOKEN = "xoxb-sandbox-bot"
ADMIN_TOKEN = "xoxp-sandbox-admin"
APP_TOKEN = "xapp-sandbox-app"
SIGNING_SECRET = "sandbox-signing-secret"
BOT_USER_ID = "U0PIIQBOT"
BOT_ID = "B0PIIQBOT"
ADMIN_USER_ID = "U0ADMIN"

_TOKENS = {BOT_TOKEN: "bot", ADMIN_TOKEN: "admin", APP_TOKEN: "app"}


@dataclass(slots=True)
class Call:
    """One Web API request as the sandbox saw it (tokens reduced to their kind)."""

    method: str
    args: dict[str, Any]
    token: str  # "bot", "admin", "app", "none" or "unknown"
    status: int
    error: str | None
    at: float = field(default_factory=time.time)  # when the sandbox answered (epoch seconds)


@dataclass(slots=True)
class _Fault:
    error: str
    status: int
    times: int
    retry_after: int | None = None
    after: int = 0  # calls that still succeed before this fault starts


class MethodLimits:
    """Slack's per-method rate limits, counted per workspace: at most ``calls`` of a method
    in each ``window`` seconds (fixed windows, as Slack's per-minute tiers count). A call
    over the limit gets HTTP 429 with Retry-After: the whole seconds until the window ends.
    Self-contained: ``admit`` is all the server needs of it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._limits: dict[str, tuple[int, float]] = {}
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # -> (start, calls)
        self.refused: list[tuple[str, str, float]] = []  # (team, method, window start)

    def set(self, method: str, calls: int, window: float) -> None:
        self._limits[method] = (calls, window)

    def admit(self, team: str, method: str) -> int | None:
        """None: the call may go on; else the Retry-After (seconds) of its 429."""
        limit = self._limits.get(method)
        if limit is None:
            return None
        calls, window = limit
        now = self._clock()
        start, made = self._windows.get((team, method), (now, 0))
        if now >= start + window:
            start, made = start + window * ((now - start) // window), 0
        if made < calls:
            self._windows[(team, method)] = (start, made + 1)
            return None
        self.refused.append((team, method, start))
        return max(1, math.ceil(start + window - now))


@dataclass
class Workspace:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_bodies: dict[str, bytes] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)


class SlackSandbox:
    """Start with ``with SlackSandbox() as slack:`` (a thread with its own event loop)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.workspace = Workspace()
        self.calls: list[Call] = []
        self.verifier = SignatureVerifier(SIGNING_SECRET)
        self._faults: dict[str, list[_Fault]] = {}
        self.method_limits = MethodLimits()
        self._hooks: dict[str, list[Callable[[Call], None]]] = {}
        self._socket_outbox: list[dict[str, Any]] = []
        self.socket_acks: list[str] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        for user_id, name, admin in [
            ("U0ALICE", "alice", False),
            ("U0BOB", "bob", False),
            ("U0CAROL", "carol", False),
            (ADMIN_USER_ID, "security-admin", True),
        ]:
            self.add_user(user_id, name, is_admin=admin)
        self.add_user(BOT_USER_ID, "piiq", is_bot=True)

    # The workspace -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` and ``PIIQ_SLACK_API_URL`` take."""
        return f"http://{self.host}:{self.port}/api/"

    def add_user(self, user_id: str, name: str, *, is_admin: bool = False, is_bot: bool = False):
        self.workspace.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name.title(),
            "is_admin": is_admin,
            "is_owner": is_admin,
            "is_bot": is_bot,
            "deleted": False,
        }

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def add_file(self, name: str, body: bytes, mimetype: str = "text/plain") -> dict[str, Any]:
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        root = f"http://{self.host}:{self.port}/files-pri/{TEAM_ID}-{file_id}"
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(body),
            "url_private": f"{root}/{name}",
            "url_private_download": f"{root}/download/{name}",
        }
        with self._lock:
            self.workspace.files[file_id] = info
            self.workspace.file_bodies[file_id] = body
        return info

    def post_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A person posts in Slack: the message is stored; returns the event envelope."""
        ts = self.new_ts()
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "team": TEAM_ID,
            "channel_type": "channel",
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if files:
            message.update(subtype="file_share", files=files)
        with self._lock:
            self.workspace.messages[(channel, ts)] = message
        return self.envelope(dict(message))

    def edit_message(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        """A person edits a message: Slack sends ``message_changed`` with both versions."""
        with self._lock:
            before = dict(self.workspace.messages[(channel, ts)])
            after = {**before, "text": text, "edited": {"user": before["user"], "ts": ts}}
            self.workspace.messages[(channel, ts)] = after
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": channel,
            "hidden": True,
            "ts": self.new_ts(),
            "message": after,
            "previous_message": before,
            "channel_type": "channel",
        }
        return self.envelope(event)

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "unused-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0PIIQ",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }

    def message_exists(self, channel: str, ts: str) -> bool:
        return (channel, ts) in self.workspace.messages

    # Delivering events like Slack does --------------------------------------------------

    def signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.verifier.generate_signature(timestamp=stamp, body=body)
        return {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }

    def deliver(
        self, url: str, envelope: dict[str, Any], *, retry_num: int | None = None
    ) -> tuple[int, bytes]:
        """POST ``envelope``, signed, to an Events API endpoint; returns (status, body)."""
        body = json.dumps(envelope).encode()
        headers = self.signed_headers(body)
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def push_socket_event(self, envelope: dict[str, Any]) -> str:
        """Send ``envelope`` over Socket Mode to a connected app; returns its envelope_id."""
        envelope_id = uuid.uuid4().hex
        frame = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": envelope,
        }
        with self._lock:
            self._socket_outbox.append(frame)
        return envelope_id

    # Faults ------------------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` get HTTP 429 with Retry-After."""
        self._add_fault(method, _Fault("ratelimited", 429, times, retry_after))

    def limit(self, method: str, calls: int, per: float) -> None:
        """From now on at most ``calls`` calls of ``method`` per ``per`` seconds in the
        workspace, as Slack's tiers do; more get 429 with Retry-After (``MethodLimits``)."""
        with self._lock:
            self.method_limits.set(method, calls, per)

    def fail(
        self, method: str, error: str, *, times: int = 1, status: int = 200, after: int = 0
    ) -> None:
        """``times`` calls of ``method`` fail with ``error`` (and an HTTP status), starting
        after ``after`` more calls have succeeded."""
        self._add_fault(method, _Fault(error, status, times, after=after))

    def after(self, method: str, hook: Callable[[Call], None]) -> None:
        """Run ``hook`` once, in the sandbox's thread, right after the next successful call of
        ``method`` has been answered (and before its caller sees the answer): to break
        something at exactly that point, e.g. the worker's database after a DM went out."""
        with self._lock:
            self._hooks.setdefault(method, []).append(hook)

    def revoke(self, token: str) -> None:
        with self._lock:
            self.workspace.revoked.add(token)

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        if fault.after > 0:
            fault.after -= 1
            return None
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        return fault

    # What happened -----------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        with self._lock:
            calls = [c for c in self.calls if c.method == method]
        return [c for c in calls if ok is None or (c.error is None) == ok]

    def call_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(c.method for c in self.calls)

    def direct_messages(self, user: str) -> list[dict[str, Any]]:
        """Texts the bot posted to ``user``'s DM channel."""
        return [
            c.args
            for c in self.calls_to("chat.postMessage", ok=True)
            if c.args.get("channel") == _dm_channel(user)
        ]

    # Serving -----------------------------------------------------------------------------

    def start(self) -> SlackSandbox:
        self._thread = threading.Thread(target=self._serve, name="slack-sandbox", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Slack sandbox did not start within 10 s")
        if self._error is not None:
            raise RuntimeError(f"the Slack sandbox could not start: {self._error}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            done = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            done.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> SlackSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files-pri/{team_file}/{rest:.*}", self._download)
        app.router.add_get("/socket-mode", self._socket_mode)
        return app

    async def serve_forever(self) -> None:
        """Serve in the current event loop until cancelled (``piiq sandbox``)."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._runner = web.AppRunner(self.app(), access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    # The Web API -------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
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
        with self._lock:
            response = self._answer(method, args, token)
            body = json.loads(response.text or "{}")
            call = Call(
                method=method,
                args={k: v for k, v in args.items() if k != "token"},
                token=_TOKENS.get(token or "", "none" if not token else "unknown"),
                status=response.status,
                error=None if body.get("ok") else body.get("error", f"http_{response.status}"),
            )
            self.calls.append(call)
            hooks = self._hooks.get(method) if call.error is None else None
            hook = hooks.pop(0) if hooks else None
        if hook is not None:
            await asyncio.to_thread(hook, call)
        return response

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        fault = self._take_fault(method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return _error(fault.error, fault.status, headers)
        if not token:
            return _error("not_authed")
        if token in self.workspace.revoked:
            return _error("token_revoked")
        kind = _TOKENS.get(token)
        if kind is None:
            return _error("invalid_auth")
        retry_after = self.method_limits.admit(TEAM_ID, method)
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
        return _ok(channel={"id": _dm_channel(user)})

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
        ts = self.new_ts()
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
        return _ok(url=f"ws://{self.host}:{self.port}/socket-mode")

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PIIQ"}}
        await ws.send_str(json.dumps(hello))

        async def send_outbox() -> None:
            while not ws.closed:
                with self._lock:
                    frames, self._socket_outbox = self._socket_outbox, []
                for frame in frames:
                    await ws.send_str(json.dumps(frame))
                await asyncio.sleep(0.05)

        sender = asyncio.create_task(send_outbox())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    envelope_id = json.loads(message.data).get("envelope_id")
                    if envelope_id:
                        with self._lock:
                            self.socket_acks.append(envelope_id)
        finally:
            sender.cancel()
        return ws

    async def _download(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if _TOKENS.get(token) not in ("bot", "admin") or token in self.workspace.revoked:
            # Slack answers a file fetched without a valid token with its sign-in page.
            page = "<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
            return web.Response(text=page, content_type="text/html")
        file_id = request.match_info["team_file"].rpartition("-")[2]
        with self._lock:
            body = self.workspace.file_bodies.get(file_id)
            info = self.workspace.files.get(file_id)
        if body is None or info is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type=info["mimetype"])


def _flag(value: Any) -> bool:
    """A boolean parameter as Slack reads it: true, 1 (what slack_sdk sends for True)."""
    return str(value).lower() in ("1", "true")


def _dm_channel(user: str) -> str:
    return "D" + user.removeprefix("U")


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


def _error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, one per line): a file
    to share in the sandbox, made without a PDF library."""
    text = (
        "BT /F1 12 Tf 72 720 Td 14 TL "
        + " ".join(f"({line.replace('(', '[').replace(')', ']')}) Tj T*" for line in lines)
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()
