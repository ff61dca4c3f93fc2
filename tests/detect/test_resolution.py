"""One span, one type: overlapping recognizers resolve to the type that fits best."""

from __future__ import annotations

import phonenumbers

from piiq.detect import Detector, Source
from piiq.detect.resolve import Hit, resolve


def nhs_valid(digits: str) -> bool:
    total = sum(int(c) * w for c, w in zip(digits[:9], range(10, 1, -1), strict=False))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def us_phone_passing_the_nhs_checksum() -> str:
    for tail in range(100, 10000):
        digits = f"212555{tail:04d}"
        if nhs_valid(digits) and phonenumbers.is_valid_number(phonenumbers.parse(digits, "US")):
            return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    raise AssertionError("no such number")


def types(detector: Detector, text: str) -> list[tuple[str, str]]:
    result = detector.scan([Source("text", text)])
    return [(f.entity_type, text[f.start : f.end]) for f in result.findings]


def test_a_us_phone_with_call_nearby_is_not_an_nhs_number(detector: Detector) -> None:
    number = us_phone_passing_the_nhs_checksum()
    assert types(detector, f"call me on {number}") == [("PHONE_NUMBER", number)]
    assert types(detector, f"NHS number {number}") == [("UK_NHS", number)]
    # without either word the checksum alone is too weak for NHS: the phone format wins
    assert types(detector, number) == [("PHONE_NUMBER", number)]


def test_a_passport_number_is_not_a_phone(detector: Detector) -> None:
    # 912803456 is also a valid Spanish phone number
    result = detector.scan([Source("text", "passport number 912803456")])
    assert [f.entity_type for f in result.findings] == ["US_PASSPORT"]
    assert [r.entity_type for r in result.decision.reasons] == ["US_PASSPORT"]


def test_a_card_number_is_not_a_bank_number(detector: Detector) -> None:
    text = "bank card 4539148803436467"
    assert types(detector, text) == [("CREDIT_CARD", "4539148803436467")]


def test_an_iban_is_not_a_phone_number(detector: Detector) -> None:
    text = "IBAN DO97 PSK4 3613 4125 2427 3167 2326"  # its digit groups pass as a phone
    assert [t for t, _ in types(detector, text)] == ["IBAN_CODE"]


def test_resolve_keeps_the_best_of_each_overlapping_group() -> None:
    hits = [
        Hit("UK_NHS", 0, 12, 0.3),
        Hit("PHONE_NUMBER", 0, 12, 0.75, context=True),
        Hit("US_BANK_NUMBER", 20, 30, 0.4, context=True),
        Hit("CREDIT_CARD", 20, 36, 1.0),
        Hit("EMAIL_ADDRESS", 40, 50, 1.0),
    ]
    kept = resolve(hits)
    assert [h.entity_type for h in kept] == ["PHONE_NUMBER", "CREDIT_CARD", "EMAIL_ADDRESS"]
    # equal scores: context, then the more specific type
    tie = resolve([Hit("US_BANK_NUMBER", 0, 9, 0.4), Hit("US_SSN", 0, 9, 0.4)])
    assert [h.entity_type for h in tie] == ["US_SSN"]
