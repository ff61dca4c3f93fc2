"""``piiq ingress``: Slack's Events API over HTTP, or Socket Mode, into the queue.

Every request is checked against the signing secret over its raw bytes before anything
else; a forged, stale or unsigned request gets 401 and enqueues nothing. A verified event
costs one INSERT, so Slack gets its 200 well within its 3 seconds. When the database is
unreachable the answer is 503 and Slack delivers the event again later: nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Mapping

import structlog
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from ..queue import Client
from ..runtime import metrics
from ..runtime.argscrypt import ArgsKeys, describe
from ..runtime.probes import Check, serve_probes
from . import interactivity
from .intake import EventIntake
from .oauth_app import OAuthApp
from .oauth_flow import OAuthFlow, Uninstalls

log = structlog.get_logger("piiq.ingress")

EVENTS_PATH = "/slack/events"
INTERACTIONS_PATH = "/slack/interactions"


def make_app(
    intake: EventIntake,
    verifier: SignatureVerifier | None,
    *,
    max_body: int,
    ready: Check,
    oauth: OAuthFlow | None = None,
    uninstalls: Uninstalls | None = None,
) -> web.Application:
    """The ingress app; without a verifier (Socket Mode, or the install routes alone) it
    serves just the probes and ``oauth``'s routes. Uninstall events delete installations
    through ``uninstalls`` (default: ``oauth``'s)."""
    if uninstalls is None and oauth is not None:
        uninstalls = oauth.uninstalls

    async def signed_body(request: web.Request) -> bytes | web.Response:
        """The raw body when Slack signed it; else the answer (413, 401)."""
        if (request.content_length or 0) > max_body:
            return _reject(413, "too_large", f"body over {max_body} bytes")
        raw = await request.read()  # aiohttp answers 413 itself past client_max_size
        if verifier is None or not _signed(verifier, raw, request.headers):
            return _reject(401, "rejected_signature", "missing, invalid or stale signature")
        return raw

    async def events(request: web.Request) -> web.Response:
        raw = await signed_body(request)
        if isinstance(raw, web.Response):
            return raw
        try:
            body = json.loads(raw)
        except ValueError:
            return _reject(400, "bad_request", "body is not JSON")
        if not isinstance(body, dict):
            return _reject(400, "bad_request", "body is not a JSON object")
        if body.get("type") == "url_verification":
            metrics.observe_ingress("url_verification")
            return web.json_response({"challenge": body.get("challenge", "")})
        try:
            if uninstalls is not None and await uninstalls.forget(body):  # uninstalled, revoked
                metrics.observe_ingress("uninstall")
                return web.Response(status=200)
            accepted = await intake.accept(body)
        except Exception as exc:
            # 5xx makes Slack retry; the unique key keeps a retry from making a second job.
            log.error("enqueue failed", error=type(exc).__name__, event_id=body.get("event_id"))
            metrics.observe_ingress("unavailable")
            return web.Response(status=503, text="queue unavailable, retry later")
        metrics.observe_ingress(accepted.outcome)
        return web.Response(status=200)

    async def interactions(request: web.Request) -> web.Response:
        raw = await signed_body(request)
        if isinstance(raw, web.Response):
            return raw
        try:
            args = interactivity.interaction_args(interactivity.parse(raw))
        except interactivity.NotAnInteraction as exc:
            return _reject(400, "bad_request", str(exc))
        if args is None:
            metrics.observe_ingress("ignored")
            return web.Response(status=200)
        try:
            job = await intake.enqueue(interactivity.interaction_job(args, intake.keys))
        except Exception as exc:
            log.error("enqueue failed", error=type(exc).__name__, action=args["action_id"])
            metrics.observe_ingress("unavailable")
            return web.Response(status=503, text="queue unavailable, retry later")
        metrics.observe_ingress("duplicate" if job.conflict else "enqueued")
        log.info("interaction enqueued", action=args["action_id"], job_id=job.id)
        return web.Response(status=200)  # an empty 200 also closes a submitted modal

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")  # the event loop answers

    async def readyz(request: web.Request) -> web.Response:
        ok, why = await ready()
        return web.Response(status=200 if ok else 503, text=why)

    app = web.Application(client_max_size=max_body)
    if verifier is not None:
        app.router.add_post(EVENTS_PATH, events)
        app.router.add_post(INTERACTIONS_PATH, interactions)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if oauth is not None:  # /slack/install and /slack/oauth_redirect (oauth_flow)
        oauth.add_routes(app)
    return app


# What Slack sends: a Unix time in seconds, and "v0=" with a hex SHA-256 HMAC.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def _signed(verifier: SignatureVerifier, raw: bytes, headers: Mapping[str, str]) -> bool:
    """Only well-formed headers reach the verifier, which raises on some garbage (non-ASCII
    in the signature, a timestamp that is not a number, a body that is not UTF-8): any of
    that is a bad signature too, a 401, never a server error."""
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        return False
    try:
        return verifier.is_valid_request(
            raw, {"x-slack-request-timestamp": timestamp, "x-slack-signature": signature}
        )
    except (ValueError, TypeError):  # UnicodeDecodeError is a ValueError
        return False


def _reject(status: int, outcome: str, why: str) -> web.Response:
    log.warning("request rejected", status=status, reason=why)
    metrics.observe_ingress(outcome)
    return web.Response(status=status, text=why)


def database_check(client: Client, timeout: float = 2.0) -> Check:
    async def check() -> tuple[bool, str]:
        try:
            async with asyncio.timeout(timeout), client.aconnection() as conn:
                await conn.execute("SELECT 1")
            return True, "ready"
        except Exception:
            return False, "database unreachable"

    return check


async def serve_http(app: web.Application, host: str, port: int, stop: asyncio.Event) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("ingress listening", host=host, port=port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def serve_socket_mode(
    intake: EventIntake, app_token: str, api_url: str, stop: asyncio.Event
) -> None:
    """Socket Mode: Slack pushes envelopes over a WebSocket; ack each after its enqueue,
    so an event that could not be stored is redelivered."""
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse
    from slack_sdk.web.async_client import AsyncWebClient

    client = SocketModeClient(app_token=app_token, web_client=AsyncWebClient(base_url=api_url))

    async def on_request(socket: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if request.type == "events_api":
            try:
                await intake.accept(request.payload)
            except Exception as exc:
                log.error("enqueue failed", error=type(exc).__name__)
                return  # no ack: Slack sends it again
        await socket.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    client.socket_mode_request_listeners.append(on_request)
    await client.connect()
    log.info("socket mode connected")
    try:
        await stop.wait()
    finally:
        await client.close()


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_ingress(
    database_url: str,
    prefix: str,
    *,
    signing_secret: str | None,
    app_token: str | None,
    api_url: str,
    exempt_channels: list[str],
    host: str,
    port: int,
    max_body: int,
    metrics_port: int = 0,
    args_keys: ArgsKeys | None = None,
    oauth: OAuthApp | None = None,
    forget_client_id: str | None = None,
) -> None:
    """Serve until SIGTERM: the Events API with a signing secret, Socket Mode with an app
    token, the OAuth install with ``oauth``, and the probes always. With ``args_keys``
    message content is sealed in jobs. ``forget_client_id`` (no ``oauth``): uninstall
    events still delete that app's installations."""
    stop = stop_on_signals()
    log.info("job args", **describe(args_keys))
    # Slack waits 3 s for the answer: better a quick 503 (Slack retries) than a late 200.
    client = Client(database_url, prefix=prefix, pool_timeout=2.0)
    intake = EventIntake(client, exempt_channels, keys=args_keys)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    flow = OAuthFlow(oauth, client) if oauth is not None else None
    uninstalls = Uninstalls(client, forget_client_id) if forget_client_id else None
    app = make_app(
        intake,
        verifier,
        max_body=max_body,
        ready=database_check(client),
        oauth=flow,
        uninstalls=uninstalls,
    )
    tasks = [serve_http(app, host, port, stop)]
    if app_token:
        tasks.append(serve_socket_mode(intake, app_token, api_url, stop))
    probes = await serve_probes(metrics_port, ready=database_check(client))
    try:
        await asyncio.gather(*tasks)
    finally:
        if probes is not None:
            await probes.cleanup()
        await client.aclose()
