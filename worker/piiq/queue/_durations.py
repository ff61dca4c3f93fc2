"""Durations as people write them: ``7d``, ``30m``, ``90s``, ``1.5h`` or plain seconds."""

from __future__ import annotations

import re

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``; a ValueError names the value and the accepted forms."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _PATTERN.match(str(text).lower())
        if not match:
            raise ValueError(
                f"duration {text!r} is not understood: use a number of seconds or a number "
                "with a unit s, m, h, d or w (e.g. 90s, 30m, 7d)"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
