"""What happens to a file, from what its text holds and how much of it could be read.

A file that was fully read is decided by its findings alone. One that was not (not
scanned, or partly scanned) is decided by its findings when they delete it; otherwise the
policy's ``unscannable`` setting decides: ``delete`` removes it as if it held personal
data, ``warn`` tells its author it could not be checked, ``alert`` (the default) tells
the author and the admin channel. Never "allow": a file nobody could read is not clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Coverage = Literal["scanned", "partly_scanned", "not_scanned"]
Unscannable = Literal["delete", "warn", "alert"]
Action = Literal["allow", "warn", "delete"]


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


def file_verdict(findings: Action, coverage: Coverage, reason: str, unscannable: Unscannable):
    if coverage == "scanned" or findings == "delete":
        return FileVerdict(findings, coverage, reason, False, False)
    action: Action = "delete" if unscannable == "delete" else "warn"
    return FileVerdict(action, coverage, reason, True, unscannable == "alert")
