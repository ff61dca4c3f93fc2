"""What the sandbox's Web API was asked: every call, for the tests' and the demo's
questions (which calls, how many, which DMs went out)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .workspace import dm_channel


@dataclass(slots=True)
class Call:
    """One Web API request as the sandbox saw it (tokens reduced to their kind, and to a
    label naming which token it was: ``T0SECOND/admin#3``)."""

    method: str
    args: dict[str, Any]
    token: str  # "bot", "admin", "app", "none" or "unknown"
    status: int
    error: str | None
    at: float = field(default_factory=time.time)  # when the sandbox answered (epoch seconds)
    team: str = ""  # the workspace that answered
    grant: str = ""  # the token's label ("" for none or an unknown one)


class CallLog:
    """The calls in the order they were answered (``calls``: a list callers may clear)."""

    def __init__(self, lock: threading.Lock) -> None:
        self.calls: list[Call] = []
        self._lock = lock

    def record(self, call: Call) -> None:
        """Append ``call``; the caller holds the lock (the call is answered under it)."""
        self.calls.append(call)

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        with self._lock:
            calls = [c for c in self.calls if c.method == method]
        return [c for c in calls if ok is None or (c.error is None) == ok]

    def call_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(c.method for c in self.calls)

    def direct_messages(self, user: str) -> list[dict[str, Any]]:
        """Texts the bot posted to ``user``'s DM channel."""
        return [
            c.args
            for c in self.calls_to("chat.postMessage", ok=True)
            if c.args.get("channel") == dm_channel(user)
        ]
