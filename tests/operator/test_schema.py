"""The structural-schema checker under the spec: defaults and dropped values as the API
server applies them, and problems in words a person can act on."""

from __future__ import annotations

from typing import Any

from piiq_operator.schema import Checker, Hint, filled

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "size": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
        "section": {
            "type": "object",
            "properties": {"on": {"type": "boolean", "default": True}, "note": {"type": "string"}},
        },
        "ref": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "key": {"type": "string", "default": "k"}},
        },
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def check(value: Any, hints: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    checker = Checker(hints or {})
    return checker.check(value, SCHEMA, "spec", "spec"), checker.problems


def test_defaults_fill_absent_fields_and_sections_that_require_nothing() -> None:
    result, problems = check({"name": "x", "free": {"any": [1]}})
    assert problems == []
    # `ref` requires a name: an absent ref stays absent, as the API server leaves it.
    assert result == {"name": "x", "size": 3, "section": {"on": True}, "free": {"any": [1]}}
    assert filled(SCHEMA["properties"]["ref"]) == {"key": "k"}


def test_an_invalid_value_is_reported_and_its_default_takes_its_place() -> None:
    result, problems = check({"name": "x", "size": 10, "tags": ["a", "c", "b"]})
    assert problems == [
        "spec.size is 10: set a number from 1 to 9",
        "spec.tags[1] 'c' is not one of a, b",
    ]
    assert result["size"] == 3
    assert result["tags"] == ["a", None, "b"]  # indices stay those of the input


def test_required_unknown_and_mistyped_fields_are_named() -> None:
    _, problems = check({"section": {"on": "yes", "off": 1}, "ref": {}})
    assert problems == [
        "spec.name is required",
        "spec.section.on must be true or false, not 'yes'",
        "spec.section.off is not a known field: remove it (known fields: note, on)",
        "spec.ref.name is required",
    ]


def test_hints_give_the_fix_instead_of_the_pattern() -> None:
    hints = {"spec.name": Hint("use lowercase letters, e.g. pii", "a name")}
    _, problems = check({"name": "Pii"}, hints)
    assert problems == ["spec.name 'Pii' is not a name: use lowercase letters, e.g. pii"]
    _, problems = check({}, hints)
    assert problems == ["spec.name is required: use lowercase letters, e.g. pii"]
    _, problems = check({"name": "Pii"})
    assert problems == ["spec.name 'Pii' does not match ^[a-z]+$"]


def test_true_is_not_a_number() -> None:
    _, problems = check({"name": "x", "size": True})
    assert problems == ["spec.size must be a whole number, not True"]
