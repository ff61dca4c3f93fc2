"""Slack mrkdwn to plain text, with a map back to the original offsets.

``<mailto:a@b.c|a@b.c>`` becomes ``a@b.c`` (once, not twice), ``<https://x|label>`` its
label, ``<@U123>`` a neutral ``@user``, ``<#C1|general>`` ``#general``, and ``&amp;``,
``&lt;``, ``&gt;`` their characters. Findings on the clean text are mapped back so a
position always refers to the message as Slack holds it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"<([^<>\n]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


@dataclass(frozen=True, slots=True)
class _Segment:
    clean_start: int
    clean_end: int
    orig_start: int
    orig_end: int
    exact: bool  # same characters: positions map one to one


@dataclass(frozen=True, slots=True)
class CleanText:
    text: str
    original: str
    segments: tuple[_Segment, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that clean ``[start, end)`` came from."""
        if start >= end:
            position = self._map(start, end_side=False)
            return position, position
        return self._map(start, end_side=False), self._map(end - 1, end_side=True)

    def _map(self, index: int, *, end_side: bool) -> int:
        starts = [s.clean_start for s in self.segments]
        i = max(bisect.bisect_right(starts, index) - 1, 0)
        seg = self.segments[i]
        if seg.exact:
            offset = min(index - seg.clean_start, seg.orig_end - seg.orig_start - 1)
            return seg.orig_start + offset + (1 if end_side else 0)
        return seg.orig_end if end_side else seg.orig_start


def _replacement(inner: str) -> tuple[str, int] | None:
    """The text a ``<...>`` token shows, and where that text starts inside ``inner``."""
    target, bar, label = inner.partition("|")
    if target.startswith(("@U", "@W", "@B")):
        return ("@user", -1)
    if target.startswith("#C"):
        return ("#" + label, -1) if bar else ("#channel", -1)
    if target.startswith("!"):
        if bar:
            return (label, len(target) + 1)
        return ("@" + target[1:].split("^")[0], -1)
    if bar:
        return (label, len(target) + 1)
    if target.startswith("mailto:"):
        return (target[len("mailto:") :], len("mailto:"))
    if target.startswith("tel:"):
        return (target[len("tel:") :], len("tel:"))
    return (target, 0)


def clean_slack_markup(text: str) -> CleanText:
    parts: list[str] = []
    segments: list[_Segment] = []
    clean = 0
    last = 0

    def verbatim(
        orig_start: int, orig_end: int, exact: bool = True, shown: str | None = None
    ) -> None:
        nonlocal clean
        piece = text[orig_start:orig_end] if shown is None else shown
        if not piece:
            return
        parts.append(piece)
        segments.append(_Segment(clean, clean + len(piece), orig_start, orig_end, exact))
        clean += len(piece)

    for match in _TOKEN.finditer(text):
        verbatim(last, match.start())
        if match.group(2):
            verbatim(match.start(), match.end(), exact=False, shown=_ENTITIES[match.group(2)])
        else:
            shown, inner_offset = _replacement(match.group(1)) or ("", -1)
            if inner_offset >= 0:
                start = match.start() + 1 + inner_offset
                verbatim(start, start + len(shown))
            else:
                verbatim(match.start(), match.end(), exact=False, shown=shown)
        last = match.end()
    verbatim(last, len(text))
    if not segments:
        segments.append(_Segment(0, 0, 0, len(text), False))
    return CleanText("".join(parts), text, tuple(segments))
