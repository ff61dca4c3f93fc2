"""Faults to inject per Web API method: rate limits, errors (from the next call or after
some successes), and hooks that run right after a call succeeded."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .calls import Call

Hook = Callable[[Call], None]


@dataclass(slots=True)
class Fault:
    error: str
    status: int
    times: int
    retry_after: int | None = None
    after: int = 0  # calls that still succeed before this fault starts


class Faults:
    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._faults: dict[str, list[Fault]] = {}
        self._hooks: dict[str, list[Hook]] = {}

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` get HTTP 429 with Retry-After."""
        self._add(method, Fault("ratelimited", 429, times, retry_after))

    def fail(
        self, method: str, error: str, *, times: int = 1, status: int = 200, after: int = 0
    ) -> None:
        """``times`` calls of ``method`` fail with ``error`` (and an HTTP status), starting
        after ``after`` more calls have succeeded."""
        self._add(method, Fault(error, status, times, after=after))

    def after(self, method: str, hook: Hook) -> None:
        """Run ``hook`` once, in the sandbox's thread, right after the next successful call of
        ``method`` has been answered (and before its caller sees the answer): to break
        something at exactly that point, e.g. the worker's database after a DM went out."""
        with self._lock:
            self._hooks.setdefault(method, []).append(hook)

    def take(self, method: str) -> Fault | None:
        """The fault this call of ``method`` meets, if any; the caller holds the lock."""
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

    def take_hook(self, method: str) -> Hook | None:
        """The hook for this successful call of ``method``, if any; the caller holds the lock."""
        hooks = self._hooks.get(method)
        return hooks.pop(0) if hooks else None

    def _add(self, method: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)
