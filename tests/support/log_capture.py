"""Every log line the test process writes, kept so tests can read what a user would see
in `kubectl logs` (and prove that no text, value or token ever gets there)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

# The clock's digits: ISO times, Slack message timestamps (Unix seconds and microseconds)
# and Slack's <!date^SECONDS^...> (a bare 10-digit number may be a leaked value: kept).
_CLOCK = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+|\b\d{10}\.\d{6}\b|(?<=<!date\^)\d{10}\b")


def without_clock(text: str) -> str:
    """``text`` without its times, which are digits that can hold part of a card number by
    chance ('21:58:02.455644Z' holds '4556'): look for leaked values in what is left."""
    return _CLOCK.sub("", text)


class LogRecorder:
    """A stream for structlog: keeps each line and passes it on to the current stdout
    (looked up at every write, so pytest's capture still shows logs of a failing test)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.extend(line for line in text.splitlines() if line.strip())
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()

    def isatty(self) -> bool:
        return False

    def since(self, start: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines[start:]]


RECORDER = LogRecorder()
