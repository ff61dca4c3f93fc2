"""The queue logs through the standard library's ``logging``, never a logging library of its
own choosing: each record's message is an event name (``worker.started``) and its fields
travel as ``extra`` attributes of the record.

An application renders them as it likes; structlog's ``ProcessorFormatter`` with
``ExtraAdder`` turns them into keys of a JSON line (what piiq's ``runtime.logs`` does).
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any


class EventLogger:
    """``log.info("worker.stopped", handed_back=0)`` on a ``logging.Logger``."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def enabled(self, level: int) -> bool:
        """Whether a record at ``level`` goes anywhere: lets a hot path skip building its
        fields (``logging`` caches the answer per level)."""
        return self.logger.isEnabledFor(level)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields, exc_info=True)

    def _log(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self.logger.isEnabledFor(level):
            # stacklevel 3: the record names the queue module that logged, not this one
            self.logger.log(level, event, extra=fields, exc_info=exc_info, stacklevel=3)


def get_logger(name: str = "piiq.queue") -> EventLogger:
    return EventLogger(name)


def where_raised(exc: BaseException) -> str:
    """``module.py:LINE in function`` of the frame that raised ``exc``: enough to find the
    bug, without the message, which may quote a job's data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"
