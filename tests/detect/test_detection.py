"""Every default of the policy, on real Presidio with the pinned spaCy model."""

from __future__ import annotations

import logging
import socket

import pytest

from piiq.detect import Detector, Policy, Source
from piiq.detect.engine import ModelNotInstalled, build_analyzer

from .conftest import luhn_complete

VISA = luhn_complete("453914880343646")
CARD_19 = luhn_complete("453914880343646712")


def decide(detector: Detector, text: str):
    return detector.scan([Source("text", text)])


def spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        (f"card {spaced(VISA)}", "CREDIT_CARD"),
        ("mastercard 2223 0031 2200 3222", "CREDIT_CARD"),  # 2-series
        ("amex 3782 822463 10005", "CREDIT_CARD"),
        (f"card {spaced(CARD_19)}", "CREDIT_CARD"),  # 19 digits
        (f"card {VISA}", "CREDIT_CARD"),  # no spaces
        ("my ssn is 536-22-1894", "US_SSN"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN_CODE"),
        ("my itin is 912-75-1234", "US_ITIN"),
        ("my passport is C03005988", "US_PASSPORT"),
        ("bank account number 123456789012", "US_BANK_NUMBER"),
        ("nhs number 943 476 5919", "UK_NHS"),
        ("write to jane.doe@acme.io", "EMAIL_ADDRESS"),
        ("my phone number is +44 20 7946 0958", "PHONE_NUMBER"),  # with context
        ("NI number AB 12 34 56 C", "UK_NINO"),
        ("mi NIF es 12345678Z", "ES_NIF"),
        ("NIE X1234567L", "ES_NIE"),
        ("codice fiscale RSSMRA85T10A562S", "IT_FISCAL_CODE"),
    ],
)
def test_structured_identifiers_delete(detector: Detector, text: str, entity: str) -> None:
    result = decide(detector, text)
    assert result.decision.action == "delete", result.findings
    assert entity in {r.entity_type for r in result.decision.reasons}


@pytest.mark.parametrize(
    "text", ["212-555-0147", "ruf an: +49 30 901820", "+33 1 42 68 53 00", "+44 20 7946 0958"]
)
def test_a_bare_phone_number_warns(detector: Detector, text: str) -> None:
    result = decide(detector, text)
    assert result.decision.action == "warn"
    assert [f.entity_type for f in result.findings] == ["PHONE_NUMBER"]


def test_all_digit_national_ids_are_off_by_default_and_can_be_turned_on(detector) -> None:
    text = "PESEL 44051401359"  # a valid PESEL checksum
    assert decide(detector, text).decision.action == "allow"
    policy = Policy.from_yaml("entities:\n  PL_PESEL: {delete: 0.5}\n")
    turned_on = Detector(detector.analyzer, policy)
    assert decide(turned_on, text).decision.action == "delete"
    # and even then a build number with a valid checksum is a build number
    assert decide(turned_on, "build 44051401359 done").decision.action == "allow"


def test_crypto_address_warns(detector: Detector) -> None:
    assert decide(detector, "send to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT").decision.action == "warn"


def test_invalid_card_number_is_not_a_card(detector: Detector) -> None:
    bad = VISA[:-1] + str((int(VISA[-1]) + 1) % 10)  # Luhn fails
    assert decide(detector, f"card {spaced(bad)}").decision.action == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "Maria Garcia approved the release",  # a name alone
        "John Smith moved to Berlin",  # a name and a place
        "the JSON parser in app.py fails on Travis-ci",  # NER noise
        "deploy build x2x9z v2 to 10.0.0.12 on 12 March 2025, see https://docs.acme.io/x",
        "UUID 123e4567-e89b-12d3-a456-426614174000 and MAC 00:1B:44:11:3A:B7",
    ],
)
def test_names_places_and_noisy_types_never_delete(detector: Detector, text: str) -> None:
    assert decide(detector, text).decision.action == "allow"


@pytest.mark.parametrize("text", ["Maria Garcia 212-555-0147", "Kenji Watanabe, +44 20 7946 0958"])
def test_a_name_with_a_bare_phone_number_deletes(detector: Detector, text: str) -> None:
    # the phone number alone only warns: the name completes the combination
    result = decide(detector, text)
    assert result.decision.action == "delete"
    assert any(r.rule == "name with contact details" for r in result.decision.reasons)
    assert {f.entity_type for f in result.findings} == {"PERSON", "PHONE_NUMBER"}


def test_decision_reasons_name_types_counts_scores_and_sources(detector: Detector) -> None:
    result = detector.scan(
        [
            Source("text", "my ssn is 536-22-1894 and hers is 536-22-1895"),
            Source("file F1 (a.csv)", "ssn,536-22-1894", slack_markup=False),
        ]
    )
    (reason,) = result.decision.reasons
    assert result.decision.entity_counts == {"US_SSN": 3}
    assert reason.entity_type == "US_SSN" and reason.count == 3
    assert reason.sources == ("text", "file F1 (a.csv)") and reason.max_score >= 0.5
    assert "536-22" not in repr(result.decision)  # decisions carry no values


def test_test_card_numbers_and_example_addresses_delete_by_default(detector: Detector) -> None:
    # generated data uses them: they have the format of real ones
    for text in ("use 4242 4242 4242 4242 in staging", "4111111111111111", "5555 5555 5555 4444"):
        assert decide(detector, text).decision.action == "delete", text
    assert decide(detector, "mail test@example.com").decision.action == "delete"


def test_allow_list_exact_and_regex(detector: Detector) -> None:
    policy = Policy.from_yaml(
        "allow:\n  exact: ['4242 4242 4242 4242']\n  regex: ['.*@example\\.(com|org|net)']\n"
    )
    allowing = Detector(detector.analyzer, policy)
    assert decide(allowing, "use 4242 4242 4242 4242 in staging").decision.action == "allow"
    assert decide(allowing, "mail test@example.com").decision.action == "allow"
    assert decide(allowing, "mail test@acme.io").decision.action == "delete"
    assert decide(allowing, "card 4111 1111 1111 1111").decision.action == "delete"


def test_redacted_copy(detector: Detector) -> None:
    text = f"My card is {spaced(VISA)}, ping <mailto:jane@acme.io|jane@acme.io> <@U12AB>"
    result = decide(detector, text)
    assert detector.redacted(result, "text") == (
        "My card is <CREDIT_CARD>, ping <EMAIL_ADDRESS> @user"
    )


def test_analyzer_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    detector = Detector.create()
    result = detector.scan([Source("text", "mail jane.doe@acme.co.uk now")])
    assert result.decision.action == "delete"


def test_missing_model_is_an_error_not_a_download() -> None:
    with pytest.raises(ModelNotInstalled, match=r"never downloads models.*requirements/model\.txt"):
        build_analyzer("en_core_web_lg")


def test_no_log_line_carries_a_matched_value(
    detector: Detector, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    values = ["536-22-1894", "jane.doe@acme.io", spaced(VISA), "Maria Garcia"]
    text = f"Maria Garcia: ssn {values[0]}, {values[1]}, card {values[2]}"
    result = detector.scan([Source("text", text)])
    detector.redacted(result, "text")
    logged = caplog.text + capsys.readouterr().out + capsys.readouterr().err
    for value in values:
        assert value not in logged


def test_policy_can_be_replaced(tmp_path) -> None:
    policy = Policy.from_yaml("entities:\n  PERSON: {delete: 0.8}\n")
    detector = Detector(Detector.create().analyzer, policy)
    assert decide(detector, "Maria Garcia approved it").decision.action == "delete"
