"""One span, one type: of overlapping matches, the best-fitting type wins.

A US phone number with "call" nearby may also pass the NHS checksum; a 16-digit card
number is also a run of digits the bank-number pattern takes. Overlapping hits are
grouped and the one whose validation and context fit best is kept: highest score (scores
already carry validation and context), then context found, then the more specific type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The more specific type wins a tie: strict formats with checksums before digit runs.
SPECIFICITY = {
    "IBAN_CODE": 9, "CREDIT_CARD": 8, "EMAIL_ADDRESS": 8, "US_SSN": 7, "US_ITIN": 7,
    "UK_NHS": 6, "UK_NINO": 6, "ES_NIF": 6, "ES_NIE": 6, "IT_FISCAL_CODE": 6,
    "PHONE_NUMBER": 5, "PL_PESEL": 4, "IN_AADHAAR": 4, "AU_TFN": 4, "CA_SIN": 4,
    "US_PASSPORT": 3, "US_BANK_NUMBER": 2,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hit:
    """A match before the policy sees it: type, place, score, and whether context was near."""

    entity_type: str
    start: int
    end: int
    score: float
    context: bool = False

    def overlaps(self, other: Hit) -> bool:
        return self.start < other.end and other.start < self.end


def _rank(hit: Hit) -> tuple[float, bool, int, int]:
    return (
        round(hit.score, 6),
        hit.context,
        SPECIFICITY.get(hit.entity_type, 1),
        hit.end - hit.start,
    )


def resolve(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the best hit of each group of overlapping hits, in text order."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=_rank, reverse=True):
        if not any(hit.overlaps(k) for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.start, h.end))
