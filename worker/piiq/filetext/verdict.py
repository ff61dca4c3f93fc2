"""What happens to a file, from what its text holds and how much of it could be read.

A file that was fully read is decided by its findings alone. One that was not (not
scanned, or partly scanned) is decided by its findings when they delete it; otherwise the
policy's ``unscannable`` setting decides: ``delete`` removes it as if it held personal
data, ``warn`` tells its author it could not be checked, ``alert`` (the default) tells
the author and the admin channel. Never "allow": a file nobody could read is not clean.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ..detect import Detector, ScanResult, Source

Coverage = Literal["scanned", "partly_scanned", "not_scanned"]
Unscannable = Literal["delete", "warn", "alert"]
Action = Literal["allow", "warn", "quarantine", "delete"]


@dataclass(frozen=True, slots=True)
class FileVerdict:
    action: Action  # what is done to the file
    coverage: Coverage
    reason: str  # why it was not (fully) read; "" when it was
    unchecked: bool  # not fully read, and the policy's unscannable setting decided
    alert_admins: bool  # unscannable: alert

    @property
    def outcome(self) -> str:
        """The audit row's and metrics' word: the coverage when ``unchecked``."""
        return self.coverage if self.unchecked else self.action


def file_verdict(
    findings: Action, coverage: Coverage, reason: str, unscannable: Unscannable
) -> FileVerdict:
    if coverage == "scanned" or findings in ("delete", "quarantine"):
        return FileVerdict(findings, coverage, reason, False, False)
    action: Action = "delete" if unscannable == "delete" else "warn"
    return FileVerdict(action, coverage, reason, True, unscannable == "alert")


# Any single file is decided within this many seconds of its download: extraction takes
# at most Limits.hard_timeout of it, detection the rest (at least DETECT_MIN_SECONDS).
FILE_SECONDS = 30.0
DETECT_MIN_SECONDS = 5.0
CHUNK_CHARS = 10_000  # text is analysed in pieces of this size, the clock checked between
CHUNKS_PER_BATCH = 4


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """``text`` in pieces of about ``size``, cut at a line break or a space near the end."""
    pieces, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            window = text.rfind("\n", end - size // 10, end)
            if window < 0:
                window = text.rfind(" ", end - size // 10, end)
            end = window + 1 if window > start else end
        pieces.append(text[start:end])
        start = end
    return pieces


def scan_within(
    detector: Detector, sources: list[Source], text: str, name: str, deadline: float
) -> tuple[ScanResult, str]:
    """Scan ``sources`` (a file's name, title) and its ``text`` in chunks until
    ``deadline``; the result covers every finding (combinations across chunks too), and
    the note says what was not analysed ("" when all was)."""
    from ..detect import ScanResult, Source

    results = [detector.scan(sources)] if sources else []
    pieces = chunks(text)
    analysed, note = 0, ""
    for start in range(0, len(pieces), CHUNKS_PER_BATCH):
        if time.monotonic() > deadline:
            note = f"first {analysed:,} of {len(text):,} characters analysed (the time limit)"
            break
        batch = pieces[start : start + CHUNKS_PER_BATCH]
        named = [
            name if len(pieces) == 1 else f"{name} (part {start + i + 1})"
            for i in range(len(batch))
        ]
        results += detector.scan_many(
            [[Source(n, piece, slack_markup=False)] for n, piece in zip(named, batch, strict=True)]
        )
        analysed += sum(map(len, batch))
    findings = [f for r in results for f in r.findings]
    readable = {k: v for r in results for k, v in r.readable.items()}
    return ScanResult(findings, detector.policy.decide(findings), readable), note


def with_note(coverage: Coverage, reason: str, note: str) -> tuple[Coverage, str]:
    """The coverage once detection had its say: text it did not analyse was not read."""
    if not note:
        return coverage, reason
    if coverage == "scanned":
        return "partly_scanned", note
    return coverage, f"{reason}; {note}" if reason else note
