"""``piiq maintenance``: prune and rescue in passes, one JSON summary line per pass."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime

import psycopg

from ..queue.maintenance import MaintenanceOptions, pass_steps
from ..queue.steps import run_sync


def run_maintenance(
    url: str, prefix: str, options: MaintenanceOptions, *, once: bool, interval: float
) -> int:
    """Run passes (one with ``once``); 0 on success, 1 when the database cannot be reached."""
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                summary = run_sync(conn, pass_steps(prefix, options))
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            _emit(
                {
                    "event": "maintenance.failed",
                    "level": "error",
                    "error": first,
                    "hint": "check PIIQ_DATABASE_URL and that PostgreSQL is running",
                },
                err=True,
            )
            if once:
                return 1
        else:
            _emit(
                {"event": "maintenance.pass", "level": "info", "prefix": prefix} | summary.as_dict()
            )
        if once or stop.wait(interval):
            return 0


def _emit(record: dict[str, object], *, err: bool = False) -> None:
    record = {"timestamp": datetime.now(UTC).isoformat()} | record
    stream = sys.stderr if err else sys.stdout
    stream.write(json.dumps(record) + "\n")
    stream.flush()
