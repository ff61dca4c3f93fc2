"""spaCy NER runs only on the texts whose pattern findings could complete a rule."""

from __future__ import annotations

import pytest

from piiq.detect import Detector, Policy, Source
from piiq.detect.context import Words
from piiq.detect.ner import plausible_person


def scan_counting(detector: Detector, *texts: str):
    before = detector.analyzer.ner.texts_read
    results = detector.scan_many([[Source("text", t)] for t in texts])
    return results, detector.analyzer.ner.texts_read - before


def test_a_name_and_no_contact_runs_no_ner(detector: Detector) -> None:
    results, read = scan_counting(
        detector, "Maria Garcia approved the release", "John Smith moved to Berlin"
    )
    assert read == 0
    assert [r.decision.action for r in results] == ["allow", "allow"]


def test_a_name_with_an_email_deletes_without_ner(detector: Detector) -> None:
    # the email deletes on its own: no rule needs the name, so the model is not asked
    results, read = scan_counting(detector, "John Smith's email is john.smith@example.com")
    assert read == 0
    assert results[0].decision.action == "delete"
    assert [r.entity_type for r in results[0].decision.reasons] == ["EMAIL_ADDRESS"]


def test_a_bare_phone_number_runs_ner_on_that_text_only(detector: Detector) -> None:
    results, read = scan_counting(
        detector,
        "Maria Garcia approved the release",  # no contact: not read
        "Kenji Watanabe +44 20 7946 0958",  # a warn-level phone: the name would complete
        "deploy 2.31.0 to staging",  # nothing: not read
        "node 10.42.0.17 rebooted, +44 20 7946 0958",  # read, but "node ..." is no person
    )
    assert read == 2
    assert [r.decision.action for r in results] == ["allow", "delete", "allow", "warn"]
    assert any(r.rule == "name with contact details" for r in results[1].decision.reasons)


def test_ner_runs_once_per_batch(detector: Detector) -> None:
    calls = detector.analyzer.ner.calls
    texts = [f"Olga Petrova +44 20 7946 09{n:02d}" for n in range(10)]
    results, read = scan_counting(detector, *texts)
    assert read == 10 and detector.analyzer.ner.calls == calls + 1
    assert all(r.decision.action == "delete" for r in results)


def test_a_policy_that_acts_on_names_runs_ner_everywhere(detector: Detector) -> None:
    names = Detector(detector.analyzer, Policy.from_yaml("entities:\n  PERSON: {warn: 0.5}\n"))
    results, read = scan_counting(names, "Maria Garcia approved the release", "ok")
    assert read == 2
    assert [r.decision.action for r in results] == ["warn", "allow"]


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("node 10.42.0.17 restarted", False),
        ("the JSON parser broke", False),
        ("Travis-ci is red", False),
        ("see app.py for it", False),
        ("host Kafka is down", False),
        ("kubectl apply", False),
        ("Maria Garcia approved", True),
        ("ask Liam O'Brien", True),
        ("Ludwig van Beethoven wrote it", True),
        ("Mary-Jane Watson", True),
    ],
)
def test_false_persons_are_filtered_by_shape(text: str, person: bool) -> None:
    words = Words.of(text)
    candidates = {
        "node 10.42.0.17 restarted": "node 10.42.0.17",
        "the JSON parser broke": "JSON",
        "Travis-ci is red": "Travis-ci",
        "see app.py for it": "app",
        "host Kafka is down": "Kafka",
        "kubectl apply": "kubectl",
        "Maria Garcia approved": "Maria Garcia",
        "ask Liam O'Brien": "Liam O'Brien",
        "Ludwig van Beethoven wrote it": "Ludwig van Beethoven",
        "Mary-Jane Watson": "Mary-Jane Watson",
    }
    span = candidates[text]
    start = text.index(span)
    assert plausible_person(text, start, start + len(span), words) is person
