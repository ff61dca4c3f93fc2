"""The operations port of every long-running piiq process: /healthz, /readyz, /metrics.

Kubernetes restarts a pod whose /healthz fails and sends traffic only to pods whose
/readyz passes; Prometheus scrapes /metrics. Both probes answer from the process's event
loop, so a blocked loop fails them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = structlog.get_logger("piiq.probes")

Check = Callable[[], Awaitable[tuple[bool, str]]]


class ProbesUnavailable(RuntimeError):
    """The probes' port cannot be used."""


async def always_ok() -> tuple[bool, str]:
    return True, "ok"


def probes_app(live: Check, ready: Check) -> web.Application:
    async def answer(check: Check) -> web.Response:
        ok, why = await check()
        return web.Response(status=200 if ok else 503, text=why)

    async def metrics(request: web.Request) -> web.Response:
        # Collectors may query the database: keep that off the event loop.
        body = await asyncio.to_thread(generate_latest, REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", lambda request: answer(live))
    app.router.add_get("/readyz", lambda request: answer(ready))
    app.router.add_get("/metrics", metrics)
    return app


async def serve_probes(
    port: int, *, live: Check = always_ok, ready: Check = always_ok, host: str = "0.0.0.0"
) -> web.AppRunner | None:
    """Listen on ``port`` (0: not at all); returns the runner to ``cleanup()`` at exit."""
    if not port:
        return None
    runner = web.AppRunner(probes_app(live, ready), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ProbesUnavailable(
            f"cannot serve probes and metrics on port {port} ({exc.strerror}): set "
            "PIIQ_METRICS_PORT to a free port, or 0 to turn them off"
        ) from None
    log.info("probes.listening", port=port, paths=["/healthz", "/readyz", "/metrics"])
    return runner
