"""Events the queue emits for metrics, like Oban's ``:telemetry`` (no dependency on any
metrics library: attach a handler and count what you need).

Events and their data:

- ``job.start``: queue, worker, job_id, attempt
- ``job.stop``: queue, worker, job_id, attempt, outcome (completed, retryable, snoozed,
  cancelled, discarded), duration_s
- ``fetch.stop``: queue, count (jobs leased), duration_s
- ``queue.control``: queue, paused, limit (jobs at once in this process), global_limit
  (None without one); at start and whenever `piiq queues pause|resume|scale` changes it
- ``jobs.rescued``: queue, state (available, or discarded when no attempt was left), count:
  executing jobs of dead or hung processes (fast rescue) or past ``rescue_after`` (the
  Lifeline) taken back by this runner's maintenance
- ``cron.inserted``: queue, worker: a periodic job this runner's crontab inserted (one per
  entry and tick over every runner; runners that found it already inserted emit nothing)

A handler runs on the runner's event loop and must be fast and never raise; one that
raises is detached, so a metrics bug never stops job processing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._log import get_logger

log = get_logger(__name__)

Handler = Callable[[str, dict[str, Any]], None]

_handlers: list[Handler] = []


def attach(handler: Handler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def detach(handler: Handler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def listening() -> bool:
    """Whether any handler is attached: the runner skips building per-job events otherwise."""
    return bool(_handlers)


def emit(event: str, **data: Any) -> None:
    for handler in list(_handlers):
        try:
            handler(event, data)
        except Exception as exc:
            detach(handler)
            log.error(
                "telemetry.handler_detached",
                handler=getattr(handler, "__qualname__", repr(handler)),
                event_name=event,
                error=type(exc).__name__,
            )
