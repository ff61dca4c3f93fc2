"""Payment cards by ISO/IEC 7812 IIN range and length, any grouping, Luhn-checked."""

from __future__ import annotations

import pytest

from piiq.detect import Detector, Source
from piiq.detect.cards import brand, find_cards, luhn_ok

from .conftest import luhn_complete

# (brand, IIN prefix, length): every brand and every length it issues
BRANDS = [
    ("Visa", "4539", 13), ("Visa", "4539", 16), ("Visa", "4539", 19),
    ("Mastercard", "51", 16), ("Mastercard", "55", 16), ("Mastercard", "2221", 16),
    ("Mastercard", "2720", 16),
    ("American Express", "34", 15), ("American Express", "37", 15),
    ("Discover", "6011", 16), ("Discover", "6011", 19), ("Discover", "644", 16),
    ("Discover", "649", 17), ("Discover", "65", 18),
    ("JCB", "3528", 16), ("JCB", "3589", 19), ("JCB", "1800", 15), ("JCB", "2131", 15),
    ("Diners Club", "300", 14), ("Diners Club", "305", 16), ("Diners Club", "36", 14),
    ("Diners Club", "38", 16), ("Diners Club", "39", 19),
    ("Maestro", "50", 12), ("Maestro", "56", 13), ("Maestro", "58", 15), ("Maestro", "6759", 16),
    ("Maestro", "6304", 19),
    ("UnionPay", "62", 16), ("UnionPay", "62", 17), ("UnionPay", "62", 18), ("UnionPay", "62", 19),
    ("RuPay", "60", 16), ("RuPay", "508", 16), ("RuPay", "81", 16), ("RuPay", "82", 16),
    ("Mir", "2200", 16), ("Mir", "2204", 19),
]  # fmt: skip


def number(prefix: str, length: int) -> str:
    body = (prefix + "7302918465" * 2)[: length - 1]
    return luhn_complete(body)


def broken(valid: str) -> str:
    return valid[:-1] + str((int(valid[-1]) + 1) % 10)


def spaced(n: str, sep: str = " ") -> str:
    return sep.join(n[i : i + 4] for i in range(0, len(n), 4))


@pytest.mark.parametrize(("name", "prefix", "length"), BRANDS)
def test_every_brand_and_length_deletes_and_a_broken_luhn_does_not(
    detector: Detector, name: str, prefix: str, length: int
) -> None:
    valid = number(prefix, length)
    assert luhn_ok(valid) and not luhn_ok(broken(valid))
    assert brand(valid) is not None
    for text in (f"my card is {valid}", f"card {spaced(valid)}", f"card {spaced(valid, '-')}"):
        result = detector.scan([Source("text", text)])
        assert result.decision.action == "delete", (name, text)
        assert [f.entity_type for f in result.findings] == ["CREDIT_CARD"]
    for text in (f"my card is {broken(valid)}", f"card {spaced(broken(valid))}"):
        assert detector.scan([Source("text", text)]).decision.action == "allow", (name, text)


@pytest.mark.parametrize(
    "grouping",
    ["4539148803436467", "4539 1488 0343 6467", "4539-1488-0343-6467", "4539.1488.0343.6467",
     "45391 48803 436467", "453 914 880 343 646 7", "3782 822463 10005"],
)  # fmt: skip
def test_any_grouping_with_one_kind_of_separator(grouping: str) -> None:
    (match,) = find_cards(f"pay with {grouping} today")
    assert match.score == 1.0
    assert find_cards("4539-1488 0343.6467") == []  # mixed separators: not a card number


def test_published_test_numbers_are_cards_by_default(detector: Detector) -> None:
    for text in ("4111 1111 1111 1111", "4242424242424242", "5555 5555 5555 4444"):
        assert detector.scan([Source("text", text)]).decision.action == "delete", text


def test_luhn_valid_without_a_brand_needs_card_context(detector: Detector) -> None:
    no_brand = luhn_complete("990012345678901")  # 16 digits, no IIN range starts with 99
    assert brand(no_brand) is None
    assert detector.scan([Source("text", f"ref {no_brand}")]).decision.action == "allow"
    result = detector.scan([Source("text", f"my credit card {no_brand}")])
    assert result.decision.action == "delete"


def test_short_maestro_numbers_need_card_context(detector: Detector) -> None:
    maestro = number("50", 12)  # as long as a cloud account ID
    assert detector.scan([Source("text", f"id {maestro}")]).decision.action == "allow"
    assert detector.scan([Source("text", f"maestro card {maestro}")]).decision.action == "delete"


def test_a_card_next_to_other_numbers_is_found() -> None:
    text = "card 4539 1488 0343 6467 2027 cvv 123"
    (match,) = find_cards(text)
    assert text[match.start : match.end] == "4539 1488 0343 6467"
    # an all-digit UUID is no card: dashes join the whole run
    assert find_cards("41111111-1111-1111-1111-111111111111") == []
