"""Phone numbers by libphonenumber validity for each configured region, as people type them."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from piiq.detect import Detector, Source
from piiq.detect.engine import DEFAULT_PHONE_REGIONS


def decide(detector: Detector, text: str):
    return detector.scan([Source("text", text)])


def examples(region: str) -> list[str]:
    out = []
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        number = phonenumbers.example_number_for_type(region, kind)
        for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
            out.append(phonenumbers.format_number(number, fmt))
    return out


@pytest.mark.parametrize("region", DEFAULT_PHONE_REGIONS)
def test_each_region_national_and_international_formats(detector: Detector, region: str) -> None:
    for number in examples(region):
        with_context = decide(detector, f"call me on {number}")
        assert with_context.decision.action == "delete", (region, number)
        assert [f.entity_type for f in with_context.findings] == ["PHONE_NUMBER"]
        alone = decide(detector, number)
        assert alone.decision.action == "warn", (region, number)  # alone: the author is asked


@pytest.mark.parametrize(
    "text",
    [
        "call me on 444 7846",  # a local number: only with a phone word
        "ring me: (0)8 525 332 69",  # Swedish trunk prefix in parentheses
        "mobile +46 8 525 332 69",
        "tel. +44 (0)20 7946 0958",
        "phone 0049 30 901820",  # 00 international prefix
        "reach me at 555.123.4567 x12",
        "whatsapp +61.497.166.380",
        "my number is 020 7946 0958",
    ],
)
def test_formats_people_type_delete_with_context(detector: Detector, text: str) -> None:
    result = decide(detector, text)
    assert result.decision.action == "delete", result.findings
    assert [f.entity_type for f in result.findings] == ["PHONE_NUMBER"]


def test_local_and_invalid_numbers_without_context_are_nothing(detector: Detector) -> None:
    assert decide(detector, "444 7846").findings == []
    assert decide(detector, "ticket 0207 946").findings == []


def test_bare_digits_valid_only_as_written(detector: Detector) -> None:
    # 1714580713 would be a German mobile number with a 0 in front: without it, it is not
    assert decide(detector, "seen 1714580713 times").findings == []
    # a bare valid national number is recorded but below the warn threshold
    (finding,) = decide(detector, "2025550147").findings
    assert finding.entity_type == "PHONE_NUMBER" and finding.action == "ignore"
    assert decide(detector, "phone 2025550147").decision.action == "delete"


def test_two_numbers_in_one_run(detector: Detector) -> None:
    text = "call 020 7946 0958 020 7946 0959"
    found = [text[f.start : f.end] for f in decide(detector, text).findings]
    assert found == ["020 7946 0958", "020 7946 0959"]


def test_regions_are_configurable(detector: Detector) -> None:
    us_only = Detector.create(phone_regions=("US",))
    assert decide(us_only, "call 020 7946 0958").findings == []  # a UK national number
    assert decide(us_only, "call +44 20 7946 0958").decision.action == "delete"
