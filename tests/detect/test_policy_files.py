"""The policy file and custom YAML recognizers: loaded, validated, applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from piiq.detect import Detector, Policy, PolicyError, Source

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
        ("entities:\n  US_SSN: {remove: 0.5}", "must map to {delete: score, warn: score}"),
        ("colour: blue", r"unknown keys \['colour'\]"),
        ("allow:\n  regex: ['(']", "does not compile"),
        ("combinations:\n  - any: [EMAIL_ADDRESS]", "give all: \\[TYPES\\]"),
        ("entities: [", "not valid YAML"),
    ],
)
def test_bad_policy_files_are_refused_naming_the_value(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.from_yaml(text)


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
