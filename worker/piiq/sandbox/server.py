"""A local Slack: the Web API methods piiq calls, file hosting, Socket Mode, and signed
event delivery, behind one HTTP server in a thread of its own.

The demo and the tests point the real ``slack_sdk`` clients at it (``base_url``), so every
request crosses HTTP as it would to slack.com. ``SlackSandbox`` puts the parts together
(the workspace, the Web API, faults, the call log, Socket Mode, delivery) and offers what
a test does with them in one place: people post (``post_message``), Slack delivers
(``deliver``), faults are armed (``fail``, ``rate_limit``, ``after``), and the calls the
app made are read back (``calls_to``, ``direct_messages``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from aiohttp import web

from .calls import Call, CallLog
from .delivery import EventDelivery
from .faults import Faults, Hook
from .interactivity import Interactivity
from .limits import MethodLimits
from .oauth import SandboxOAuth
from .socket_mode import SocketMode
from .tenants import Tenants
from .web_api import WebApi
from .workspace import Workspace, envelope


class SlackSandbox:
    """Start with ``with SlackSandbox() as slack:`` (a thread with its own event loop)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.workspace = Workspace.with_people()
        lock = self.workspace.lock
        self.faults = Faults(lock)
        self.method_limits = MethodLimits()
        self.call_log = CallLog(lock)
        self.socket_mode = SocketMode(lock)
        self.delivery = EventDelivery()
        self.tenants = Tenants(self.workspace, lock)
        self.oauth = SandboxOAuth(self.tenants, self.call_log)
        self.interactivity = Interactivity(self.workspace, self.delivery)
        # People click buttons and submit modals: Slack POSTs signed payloads to the
        # app's interactivity URL (interactivity.py); open_views: the modals opened.
        self.click = self.interactivity.click
        self.submit_view = self.interactivity.submit
        self.open_views = self.interactivity.open_views
        self.web_api = WebApi(
            self.tenants,
            self.faults,
            self.method_limits,
            self.call_log,
            lambda: f"ws://{self.host}:{self.port}/socket-mode",
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` and ``PIIQ_SLACK_API_URL`` take."""
        return f"http://{self.host}:{self.port}/api/"

    # People in the workspace (see workspace.py) -------------------------------------------

    def add_user(
        self, user_id: str, name: str, *, is_admin: bool = False, is_bot: bool = False
    ) -> None:
        self.workspace.add_user(user_id, name, is_admin=is_admin, is_bot=is_bot)

    def add_channel(self, channel: str, *, private: bool = False, bot_member: bool = True) -> None:
        """A channel (one that people post in exists already, with the bot in it)."""
        self.workspace.add_channel(channel, private=private, bot_member=bot_member)

    def add_file(self, name: str, body: bytes, mimetype: str = "text/plain") -> dict[str, Any]:
        files_url = f"http://{self.host}:{self.port}/files-pri"
        return self.workspace.add_file(name, body, mimetype, files_url=files_url)

    def post_message(self, channel: str, user: str, text: str, **where: Any) -> dict[str, Any]:
        """A person posts in Slack (``thread_ts=``, ``files=``): the message is stored;
        returns the event envelope."""
        return self.workspace.post_message(channel, user, text, **where)

    def edit_message(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        """A person edits a message: Slack sends ``message_changed`` with both versions."""
        return self.workspace.edit_message(channel, ts, text)

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        return envelope(event)

    # More workspaces, Enterprise Grid orgs, OAuth (tenants.py, oauth.py) ------------------

    def add_workspace(self, team_id: str, enterprise_id: str | None = None) -> Workspace:
        """Another workspace (in the org ``enterprise_id``) with the same people; post in it
        with its own ``post_message``. Its tokens come from installing the app (OAuth)."""
        return self.tenants.add_workspace(team_id, enterprise_id)

    def team(self, team_id: str) -> Workspace:
        return self.tenants.workspaces[team_id]

    @property
    def authorize_url(self) -> str:
        return f"http://{self.host}:{self.port}/oauth/v2/authorize"

    def message_exists(self, channel: str, ts: str) -> bool:
        return self.workspace.message_exists(channel, ts)

    # Delivering events like Slack does (delivery.py, socket_mode.py) ----------------------

    def signed_headers(
        self, body: bytes, timestamp: int | None = None, content_type: str = "application/json"
    ) -> dict[str, str]:
        return self.delivery.signed_headers(body, timestamp, content_type)

    def deliver(
        self, url: str, envelope: dict[str, Any], *, retry_num: int | None = None
    ) -> tuple[int, bytes]:
        """POST ``envelope``, signed, to an Events API endpoint; returns (status, body)."""
        return self.delivery.deliver(url, envelope, retry_num=retry_num)

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """The messages in ``channel`` now, oldest first (copies)."""
        with self.workspace.lock:
            found = [dict(m) for (c, _), m in self.workspace.messages.items() if c == channel]
        return sorted(found, key=lambda m: float(m["ts"]))

    def push_socket_event(self, envelope: dict[str, Any]) -> str:
        """Send ``envelope`` over Socket Mode to a connected app; returns its envelope_id."""
        return self.socket_mode.push(envelope)

    @property
    def socket_acks(self) -> list[str]:
        return self.socket_mode.acks

    # Faults (faults.py) -------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` get HTTP 429 with Retry-After."""
        self.faults.rate_limit(method, times=times, retry_after=retry_after)

    def limit(self, method: str, calls: int, per: float) -> None:
        """From now on at most ``calls`` calls of ``method`` per ``per`` seconds in the
        workspace, as Slack's tiers do; more get 429 with Retry-After (limits.py)."""
        with self.workspace.lock:
            self.method_limits.set(method, calls, per)

    def fail(
        self, method: str, error: str, *, times: int = 1, status: int = 200, after: int = 0
    ) -> None:
        """``times`` calls of ``method`` fail with ``error``, after ``after`` successes."""
        self.faults.fail(method, error, times=times, status=status, after=after)

    def after(self, method: str, hook: Hook) -> None:
        """Run ``hook`` right after the next successful call of ``method`` (Faults.after)."""
        self.faults.after(method, hook)

    def revoke(self, token: str) -> None:
        with self.workspace.lock:
            self.workspace.revoked.add(token)

    # What happened (calls.py) -------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        return self.call_log.calls

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return self.call_log.calls_to(method, ok=ok)

    def call_counts(self) -> Counter[str]:
        return self.call_log.call_counts()

    def direct_messages(self, user: str) -> list[dict[str, Any]]:
        """Texts the bot posted to ``user``'s DM channel."""
        return self.call_log.direct_messages(user)

    # Serving ------------------------------------------------------------------------------

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
        app.router.add_post("/api/oauth.v2.access", self.oauth.access)  # before /api/{method}
        app.router.add_get("/oauth/v2/authorize", self.oauth.authorize)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/files-pri/{team_file}/{rest:.*}", self.web_api.download)
        app.router.add_get("/socket-mode", self.socket_mode.handle)
        app.router.add_post("/upload/v1/{team_file}", self.web_api.upload)
        return app

    async def _api(self, request: web.Request) -> web.Response:
        """The Web API's route (a subclass may hold calls here, as tests' gated sandbox does)."""
        return await self.web_api.handle(request)

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
            self.port = self._runner.addresses[0][1]  # the port bound, when 0 was asked
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.close()
