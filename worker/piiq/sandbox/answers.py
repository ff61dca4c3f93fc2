"""How the Web API answers: HTTP 200 with ``ok``, or ``ok: false`` and an error."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


def error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)
