"""What detection produces. Values are never stored here: only types, scores and places."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

# quarantine: removed from the channel but kept (encrypted) for an admin to release or
# delete; delete is the stricter action.
Action = Literal["delete", "quarantine", "warn", "ignore"]
Verdict = Literal["delete", "quarantine", "warn", "allow"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data: its type, confidence and position in its source text."""

    entity_type: str
    score: float
    start: int
    end: int
    source: str  # "text", "attachment 1", "file F123 (report.pdf)" ...
    action: Action = "ignore"  # what the policy says about this finding on its own

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.entity_type,
            "score": round(self.score, 2),
            "start": self.start,
            "end": self.end,
            "source": self.source,
            "action": self.action,
        }


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was taken: an entity type, how often, how sure, where, by which rule."""

    entity_type: str
    count: int
    max_score: float
    sources: tuple[str, ...]
    rule: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.entity_type,
            "count": self.count,
            "max_score": round(self.max_score, 2),
            "sources": list(self.sources),
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    action: Verdict
    reasons: tuple[Reason, ...] = ()
    findings: tuple[Finding, ...] = field(default=(), repr=False)

    @property
    def entity_counts(self) -> dict[str, int]:
        """Counts by type of the findings the decision rests on (safe to log)."""
        return dict(Counter(r.entity_type for r in self.reasons for _ in range(r.count)))

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "reasons": [r.as_dict() for r in self.reasons]}
