"""``piiq maintenance``: prune and rescue in passes, one JSON summary line per pass."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime

import click
import psycopg

from ..queue import MaintenanceOptions, parse_duration, run_maintenance_pass
from .user_errors import database_error


def maintenance(
    url: str,
    prefix: str,
    prune_max_age: float,
    keep: tuple[str, ...],
    prune_limit: int,
    rescue_after: float,
    heartbeat_timeout: float,
    no_fast_rescue: bool,
    once: bool,
    interval: float,
) -> int:
    """Run the passes the options describe; the exit status."""
    options = MaintenanceOptions(
        prune_max_age=prune_max_age,
        prune_max_age_by_state=parse_keep(keep),
        prune_limit=prune_limit,
        rescue_after=rescue_after,
        fast_rescue=not no_fast_rescue,
        heartbeat_timeout=heartbeat_timeout,
    )
    return run_maintenance(url, prefix, options, once=once, interval=interval)


def parse_keep(specs: tuple[str, ...]) -> dict[str, float]:
    """--keep STATE=AGE entries as seconds by state."""
    ages: dict[str, float] = {}
    for spec in specs:
        state, sep, age = spec.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{spec!r} must look like STATE=AGE, e.g. discarded=30d", param_hint="--keep"
            )
        try:
            ages[state.strip()] = parse_duration(age)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--keep") from None
    return ages


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
                summary = run_maintenance_pass(conn, prefix, options)
        except psycopg.OperationalError as exc:  # the next pass may reach it: keep going
            error = str(database_error(exc, url, prefix))
            _emit({"event": "maintenance.failed", "level": "error", "error": error}, err=True)
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
