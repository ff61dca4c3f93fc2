"""Slack's per-method rate limits (its tiers), counted per workspace."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class MethodLimits:
    """Slack's per-method rate limits, counted per workspace: at most ``calls`` of a method
    in each ``window`` seconds (fixed windows, as Slack's per-minute tiers count). A call
    over the limit gets HTTP 429 with Retry-After: the whole seconds until the window ends.
    Self-contained: ``admit`` is all the server needs of it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._limits: dict[str, tuple[int, float]] = {}
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # -> (start, calls)
        self.refused: list[tuple[str, str, float]] = []  # (team, method, window start)

    def set(self, method: str, calls: int, window: float) -> None:
        self._limits[method] = (calls, window)

    def admit(self, team: str, method: str) -> int | None:
        """None: the call may go on; else the Retry-After (seconds) of its 429."""
        limit = self._limits.get(method)
        if limit is None:
            return None
        calls, window = limit
        now = self._clock()
        start, made = self._windows.get((team, method), (now, 0))
        if now >= start + window:
            start, made = start + window * ((now - start) // window), 0
        if made < calls:
            self._windows[(team, method)] = (start, made + 1)
            return None
        self.refused.append((team, method, start))
        return max(1, math.ceil(start + window - now))
