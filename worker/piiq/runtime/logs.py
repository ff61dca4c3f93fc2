"""Logging for every piiq process: JSON lines on stdout, readable text on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure(
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
) -> None:
    """Configure structlog for this process; ``stream`` defaults to stdout."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    _route_standard_logging(shared, renderer, stream or sys.stdout)
    # The queue logs through the standard library (it is a library of its own): its records
    # at the chosen level, its fields (``extra``) as keys of the same lines.
    logging.getLogger("piiq.queue").setLevel(LEVELS[level])
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=True,
    )


def _route_standard_logging(
    shared: list[structlog.typing.Processor],
    renderer: structlog.typing.Processor,
    stream: TextIO,
) -> None:
    """Libraries' warnings (psycopg's pool, aiohttp, kopf ...) as the same lines on the
    same stream, with the logger's name; their debug chatter stays off (slack_sdk logs
    request headers, tokens included, at DEBUG)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
