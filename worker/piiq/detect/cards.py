"""Payment card numbers (PANs) by the issuer identification number ranges of ISO/IEC 7812.

A PAN is 12 to 19 digits; the first digits (the IIN) name the brand, and each brand issues
only some lengths. A candidate is a run of digit groups joined by one kind of separator
(space, dash or dot, in any grouping, or none); it must pass the Luhn check. Then:

- a brand's IIN range with one of its lengths: score 1.0 (Maestro's short 12-15 digit
  numbers without separators: 0.4, so they need a card word nearby, like cloud account IDs);
- Luhn-valid, but no brand issues it: 0.3, below any delete threshold unless card context
  (``card``, ``visa``, ``cvv`` ...) is near, which adds 0.35.

Brand-published test numbers (4111 1111 1111 1111, 4242 4242 4242 4242) are real-format
PANs and score like any other; an admin who wants them through lists them under
``allow.exact`` in the policy.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# (first digits from, to, lengths, brand): ranges compare on the same number of digits.
IIN_RANGES: tuple[tuple[str, str, tuple[int, ...], str], ...] = (
    ("4", "4", (13, 16, 19), "Visa"),
    ("51", "55", (16,), "Mastercard"),
    ("2221", "2720", (16,), "Mastercard"),
    ("34", "34", (15,), "American Express"),
    ("37", "37", (15,), "American Express"),
    ("6011", "6011", (16, 17, 18, 19), "Discover"),
    ("644", "649", (16, 17, 18, 19), "Discover"),
    ("65", "65", (16, 17, 18, 19), "Discover"),
    ("622126", "622925", (16, 17, 18, 19), "Discover"),
    ("3528", "3589", (16, 17, 18, 19), "JCB"),
    ("35", "35", (16,), "JCB"),  # card generators fill the whole 35 block
    ("1800", "1800", (15,), "JCB"),
    ("2131", "2131", (15,), "JCB"),
    ("3088", "3088", (16,), "JCB"),
    ("3096", "3096", (16,), "JCB"),
    ("3112", "3112", (16,), "JCB"),
    ("3158", "3158", (16,), "JCB"),
    ("3337", "3337", (16,), "JCB"),
    ("300", "305", (14, 15, 16, 17, 18, 19), "Diners Club"),
    ("3095", "3095", (14, 15, 16, 17, 18, 19), "Diners Club"),
    ("36", "36", (14, 15, 16, 17, 18, 19), "Diners Club"),
    ("38", "39", (14, 15, 16, 17, 18, 19), "Diners Club"),
    ("50", "50", tuple(range(12, 20)), "Maestro"),
    ("56", "69", tuple(range(12, 20)), "Maestro"),
    ("0604", "0604", tuple(range(12, 20)), "Maestro"),
    ("62", "62", (16, 17, 18, 19), "UnionPay"),
    ("81", "81", (16, 17, 18, 19), "UnionPay"),
    ("60", "60", (16,), "RuPay"),
    ("65", "65", (16,), "RuPay"),
    ("81", "82", (16,), "RuPay"),
    ("508", "508", (16,), "RuPay"),
    ("353", "353", (16,), "RuPay"),
    ("356", "356", (16,), "RuPay"),
    ("2200", "2204", (16, 17, 18, 19), "Mir"),
    ("2205", "2205", (16,), "BORICA"),
    ("9792", "9792", (16,), "Troy"),
    ("8600", "8600", (16,), "UzCard"),
    ("9860", "9860", (16,), "Humo"),
    ("636", "636", (16, 17, 18, 19), "InterPayment"),
    ("637", "639", (16,), "InstaPayment"),
    ("1946", "1946", (16, 17, 18, 19), "GPN"),
)

CARD_CONTEXT = (
    "card", "credit", "debit", "visa", "mastercard", "amex", "american express", "discover",
    "jcb", "diners", "maestro", "unionpay", "rupay", "mir", "cc", "pan", "cvv", "cvc", "exp",
    "expiry", "expires", "payment", "pay", "paid", "charge", "billing", "checkout",
)  # fmt: skip

SCORE_BRAND = 1.0
SCORE_SHORT_MAESTRO = 0.4
SCORE_NO_BRAND = 0.3

# Digit groups joined by single separators; the whole run is split into candidates below.
_RUN = re.compile(r"(?<![\w.,/:+-])\d+(?:[ .-]\d+)*(?![\w]|[.,/:-]\d)")
_GROUP = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class CardMatch:
    start: int
    end: int
    score: float
    brand: str | None


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand(digits: str) -> str | None:
    """The brand whose IIN range and lengths fit ``digits``, or None."""
    for low, high, lengths, name in IIN_RANGES:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return name
    return None


def _score(digits: str, separated: bool) -> tuple[float, str | None] | None:
    if not 12 <= len(digits) <= 19 or not luhn_ok(digits):
        return None
    name = brand(digits)
    if name is None:
        return SCORE_NO_BRAND, None
    if name == "Maestro" and len(digits) < 16 and not separated:
        # 12-15 digit Maestro numbers without grouping look like any other ID (cloud
        # account IDs are 12 digits): only card context makes them a card.
        return SCORE_SHORT_MAESTRO, name
    return SCORE_BRAND, name


def find_cards(text: str) -> list[CardMatch]:
    found: list[CardMatch] = []
    for run in _RUN.finditer(text):
        groups = [
            (m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())
        ]
        if sum(e - s for s, e in groups) < 12:
            continue
        separators = {text[e] for (_, e), _ in itertools.pairwise(groups)}
        if len(separators) > 1:
            continue  # 4111-1111 1111.1111 is no way to write a card number
        if any(e - s < 3 for s, e in groups[:-1]):
            continue  # 12 34 56 78 90 12: a list of small numbers
        # dashes and dots join one number (UUIDs); spaces may join several
        windows = _windows(groups) if separators == {" "} else [(0, len(groups) - 1)]
        i = 0
        while i < len(groups):
            for first, last in windows:
                if first != i:
                    continue
                digits = "".join(text[s:e] for s, e in groups[first : last + 1])
                scored = _score(digits, separated=last > first)
                if scored is not None:
                    start, end = groups[first][0], groups[last][1]
                    found.append(CardMatch(start, end, scored[0], scored[1]))
                    i = last + 1
                    break
            else:
                break  # no card starts here: none starts inside a number either
    return found


def _windows(groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Windows of a space-separated run (which may hold a card number next to other
    numbers: "4539 1488 0343 6467 2027"): 12-19 digits, longest first; a window may leave
    out the groups after it only when the next one is a number of its own (3+ digits), so
    a 17-digit number is not taken for its first 16 digits."""
    out: list[tuple[int, int]] = []
    for i in range(len(groups)):
        digits = 0
        ends = []
        for j in range(i, len(groups)):
            digits += groups[j][1] - groups[j][0]
            if digits > 19:
                break
            following = groups[j + 1] if j + 1 < len(groups) else None
            if digits >= 12 and (following is None or following[1] - following[0] >= 3):
                ends.append(j)
        out.extend((i, j) for j in reversed(ends))
    return out
