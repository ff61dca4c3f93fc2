"""The policy file and custom YAML recognizers: loaded, validated, applied."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from piiq.detect import Detector, Policy, PolicyError, Source
from piiq.detect.recognizers import load_recognizers

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_default_policy_is_the_documented_file() -> None:
    policy = Policy.default()
    assert policy.entities["CREDIT_CARD"].delete == 0.5
    assert policy.entities["PERSON"].delete is None  # names never delete alone
    assert "DATE_TIME" not in policy.entity_types and "URL" not in policy.entity_types


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entities: [1, 2]", "'entities' must be a mapping"),
        ("entities:\n  US_SSN: {delete: 2}", r"US_SSN.delete = 2 must be a score from 0 to 1"),
        (
            "entities:\n  US_SSN: {remove: 0.5}",
            "must map to {delete: score, quarantine: score, warn: score}",
        ),
        ("entities:\n  US_SSN: {quarantine: 2}", "US_SSN.quarantine = 2 must be a score"),
        (
            "combinations:\n  - all: [PERSON]\n    action: hold",
            "action must be delete, quarantine, warn, got 'hold'",
        ),
        ("colour: blue", r"unknown key 'colour'.*merged over the built-in default policy"),
        ("allow:\n  regex: ['(']", "does not compile"),
        ("combinations:\n  - any: [EMAIL_ADDRESS]", "give all: \\[TYPES\\]"),
        ("entities:\n  CREDIT_CRAD: {delete: 0.5}", "CREDIT_CRAD: did you mean CREDIT_CARD\\?"),
        ("entities:\n  EMAIL: {delete: 0.5}", "EMAIL: did you mean EMAIL_ADDRESS\\?"),
        ("entities:\n  FOO_BAR_BAZ: {delete: 0.5}", "FOO_BAR_BAZ: no such entity type \\(known: "),
        (
            "combinations:\n  - all: [PERSN]\n    any: [EMAIL_ADDRESS]",
            "PERSN: did you mean PERSON\\?",
        ),
        (
            "combinations:\n  - all: [PERSON]\n    anny: [EMAIL_ADDRESS]",
            "'anny': did you mean any\\?",
        ),
        ("entites:\n  US_SSN: {delete: 0.5}", "'entites': did you mean entities\\?"),
        ("version: 2", "version 2 is not supported: this piiq reads policy version 1"),
        ("extends: parent", "extends must be 'default'"),
        ("unscannable: ignore", "unscannable must be one of delete, warn, alert"),
        ("entities: [", "not valid YAML"),
    ],
)
def test_bad_policy_files_are_refused_naming_the_value(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.from_yaml(text)


def test_quarantine_sits_between_warn_and_the_stricter_delete() -> None:
    from piiq.detect import Finding

    policy = Policy.from_yaml(
        "entities:\n  CREDIT_CARD: {quarantine: 0.5}\n  US_SSN: {delete: 0.9, quarantine: 0.5}"
    )
    card = Finding("CREDIT_CARD", 0.9, 0, 4, "text")
    ssn, sure_ssn = Finding("US_SSN", 0.6, 5, 9, "text"), Finding("US_SSN", 0.95, 5, 9, "text")
    phone = Finding("PHONE_NUMBER", 0.5, 10, 14, "text")  # warns (the default policy)
    classified = [replace(f, action=policy.classify(f)) for f in (card, ssn, sure_ssn, phone)]
    assert [f.action for f in classified] == ["quarantine", "quarantine", "delete", "warn"]
    assert policy.decide([classified[0], classified[3]]).action == "quarantine"
    assert policy.decide(classified).action == "delete"  # the stricter action wins


def test_the_example_policy_loads_over_the_default() -> None:
    policy = Policy.load(EXAMPLES / "policy.yaml")
    assert policy.entities["CA_SIN"].delete == 0.5
    assert policy.entities["CREDIT_CARD"].delete == 0.5  # the defaults stay
    assert policy.unscannable == "warn"


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read policy file '.*nope\.yaml'"):
        Policy.load(tmp_path / "nope.yaml")


def test_custom_recognizers_from_yaml() -> None:
    detector = Detector.create(recognizers_file=str(EXAMPLES / "recognizers.yaml"))
    result = detector.scan([Source("text", "badge EMP-204981 lost")])
    assert result.decision.action == "delete"
    assert {f.entity_type for f in result.findings} == {"EMPLOYEE_ID"}
    key = detector.scan([Source("text", "key AKIAIOSFODNN7EXAMPLQ leaked")])
    assert key.decision.action == "delete" and key.findings[0].entity_type == "AWS_ACCESS_KEY_ID"
    assert detector.scan([Source("text", "EMP-12 is short")]).decision.action == "allow"


def test_bad_recognizer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("recognizers:\n  - entity: X\n    patterns:\n      - {regex: '('}\n")
    with pytest.raises(PolicyError, match="does not compile"):
        Detector.create(recognizers_file=str(path))
    path.write_text("recognizers:\n  - patterns: []\n")
    with pytest.raises(PolicyError, match="needs an 'entity'"):
        Detector.create(recognizers_file=str(path))


def test_a_partial_policy_file_is_merged_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("entities:\n  PHONE_NUMBER: {delete: 0.4}\n  US_BANK_NUMBER: off\n")
    policy = Policy.load(path)
    assert policy.entities["PHONE_NUMBER"].delete == 0.4  # changed
    assert policy.entities["CREDIT_CARD"].delete == 0.5  # kept from the defaults
    assert "US_BANK_NUMBER" not in policy.entities  # dropped with `off`
    assert [c.name for c in policy.combinations] == ["name with contact details"]
    assert policy.unscannable == "alert"


def test_extends_none_replaces_the_defaults() -> None:
    policy = Policy.from_yaml(
        "extends: none\nentities:\n  EMAIL_ADDRESS: {delete: 0.5}\nunscannable: delete\n"
    )
    assert set(policy.entities) == {"EMAIL_ADDRESS"}
    assert policy.combinations == () and policy.unscannable == "delete"


def test_combinations_in_a_file_replace_the_default_list() -> None:
    policy = Policy.from_yaml(
        "combinations:\n  - name: name and place\n    all: [PERSON, LOCATION]\n    action: warn\n"
    )
    assert [c.name for c in policy.combinations] == ["name and place"]


@pytest.mark.parametrize("value", ["alert", "warn", "delete"])
def test_unscannable_is_parsed(value: str) -> None:
    assert Policy.from_yaml(f"unscannable: {value}\n").unscannable == value
    assert Policy.default().unscannable == "alert"


def test_custom_types_are_known_to_the_policy_of_their_detector(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("entities:\n  EMPLOYEE_ID: {warn: 0.5}\n")
    with pytest.raises(PolicyError, match="EMPLOYEE_ID: no such entity type"):
        Policy.load(policy)  # without the recognizers file the type does not exist
    detector = Detector.from_files(
        policy=policy, recognizers=EXAMPLES / "recognizers.yaml"
    )  # the public loader `piiq scan --policy FILE --recognizers FILE` uses
    result = detector.scan([Source("text", "badge EMP-204981 lost")])
    assert result.decision.action == "warn"  # the policy file wins over the recognizer's


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("recognizers:\n  - entity: CREDIT_CRAD\n    patterns: [{regex: 'x'}]\n",
         "CREDIT_CRAD: did you mean CREDIT_CARD\\?"),
        ("recognizers:\n  - entity: EMPLOYEE_ID\n    patern: [{regex: 'x'}]\n",
         "'patern': did you mean patterns\\?"),
        ("recognizers:\n  - entity: employee\n    patterns: [{regex: 'x'}]\n",
         "must be an upper-case name"),
        ("recognizers:\n  - entity: EMPLOYEE_ID\n    patterns: [{regex: 'x'}]\n"
         "    policy: {delete: 5}\n", "policy.delete = 5 must be a score from 0 to 1"),
        ("version: 3\nrecognizers: []\n", "version 3 is not supported"),
    ],
)  # fmt: skip
def test_recognizer_file_typos_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        load_recognizers(path)
