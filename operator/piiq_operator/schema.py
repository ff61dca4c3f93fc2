"""Check a value against a CRD's structural schema and apply its defaults, as the API server
does, with messages a person can act on.

The PIIQueue CRD (``crd.py``) is the one source of the spec's shape and defaults; the
operator checks again what the API server checks, because the Kubernetes emulator, an
older CRD or ``kubectl apply --validate=false`` let anything through. Only the keywords in
``KEYWORDS`` are understood, and ``unknown_keywords`` names any other in a schema (a test
runs it on the CRD), so a keyword added to the CRD is never skipped in silence. CEL rules
(``x-kubernetes-validations``) are not run here: ``spec.py`` checks what each one says.

Why not jsonschema: it is a test dependency only (with referencing and rpds-py, a compiled
extension, behind it), it applies no defaults, and its messages speak in schema terms;
structural schemas use a small subset that these 200 lines cover, keyword by keyword.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

KEYWORDS = frozenset(
    {
        "type",
        "description",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "default",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "enum",
        "minProperties",
        "maxProperties",
        "maxItems",
        "anyOf",  # only as int-or-string's [{type: integer}, {type: string}]
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-validations",  # CEL: checked by spec.py, not here
    }
)
TYPES: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "integer": ("a whole number", int),
    "number": ("a number", (int, float)),
    "string": ("a string", str),
    "boolean": ("true or false", bool),
    "object": ("an object", dict),
    "array": ("a list", list),
}


@dataclass(frozen=True)
class Hint:
    """How to fix a value at one place of the schema: "<path> 'x' is not <what>: <fix>"."""

    fix: str
    what: str = "valid"


# A whole message for a value that is not allowed, from its path and the value.
Explain = Callable[[str, Any], str]
# Keyed by schema path: "spec.cron[].expression", "spec.queues.*" (any key of a map).
Hints = Mapping[str, Hint | Explain]


class _Invalid:
    """A value dropped for a problem (already reported): its default takes its place."""


INVALID = _Invalid()


def unknown_keywords(schema: Mapping[str, Any], where: str = "") -> list[str]:
    """``where: keyword`` for every keyword of ``schema`` that ``Checker`` does not know."""
    found = [f"{where or '.'}: {key}" for key in schema if key not in KEYWORDS]
    for where_, sub in children(schema, where):
        found += unknown_keywords(sub, where_)
    return found


def children(schema: Mapping[str, Any], where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The sub-schemas of ``schema`` with their schema paths."""
    for key, sub in (schema.get("properties") or {}).items():
        yield f"{where}.{key}" if where else key, sub
    if isinstance(schema.get("additionalProperties"), dict):
        yield f"{where}.*", schema["additionalProperties"]
    if "items" in schema:
        yield f"{where}[]", schema["items"]


def at(schema: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """The sub-schema at schema path ``where`` (below ``schema``'s own path)."""
    for part in re.findall(r"[^.\[\]]+|\[\]", where):
        if part == "[]":
            schema = schema["items"]
        elif part == "*":
            schema = schema["additionalProperties"]
        else:
            schema = schema["properties"][part]
    return schema


def filled(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An absent object of ``schema`` with its defaults (what the spec's code reads)."""
    result = Checker({}).check({}, schema, "", "")
    return result if isinstance(result, dict) else {}


class Checker:
    """Collects problems in ``problems`` while it checks; ``check`` returns the value with
    the schema's defaults applied and invalid values dropped (lists keep None in their
    place, so indices stay those of the input)."""

    def __init__(self, hints: Hints) -> None:
        self.hints = hints
        self.problems: list[str] = []

    def check(self, value: Any, schema: Mapping[str, Any], path: str, where: str) -> Any:
        if not self._typed(value, schema, path, where):
            return INVALID
        if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
            return copy.deepcopy(value)
        if isinstance(value, dict):
            return self._object(value, schema, path, where)
        if isinstance(value, list):
            return self._array(value, schema, path, where)
        return value if self._scalar(value, schema, path, where) else INVALID

    def _typed(self, value: Any, schema: Mapping[str, Any], path: str, where: str) -> bool:
        if schema.get("x-kubernetes-int-or-string"):
            if isinstance(value, int | str) and not isinstance(value, bool):
                return True
            return self._say(path, where, value, f"{path} must be a whole number or a string")
        kind = schema.get("type")
        if kind is None:
            return True
        what, types = TYPES[kind]
        if isinstance(value, types) and (kind == "boolean" or not isinstance(value, bool)):
            return True
        return self._say(path, where, value, f"{path} must be {what}, not {value!r}")

    def _object(
        self, value: dict[str, Any], schema: Mapping[str, Any], path: str, where: str
    ) -> dict[str, Any] | _Invalid:
        result: dict[str, Any] = {}
        properties: Mapping[str, Any] = schema.get("properties") or {}
        for key, sub in properties.items():
            item = value.get(key)
            if item is not None:
                item = self.check(item, sub, f"{path}.{key}", f"{where}.{key}")
            if item is None or item is INVALID:
                if "default" in sub:
                    result[key] = copy.deepcopy(sub["default"])
                elif item is None and key in schema.get("required", ()):
                    self._empty(f"{path}.{key}", f"{where}.{key}", "is required")
                elif item is None and _fills(sub):
                    result[key] = self.check({}, sub, f"{path}.{key}", f"{where}.{key}")
                continue
            result[key] = item
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if isinstance(additional, dict):
                checked = self.check(item, additional, f"{path}.{key}", f"{where}.*")
                if checked is not INVALID:
                    result[key] = checked
            elif key not in properties and item is not None:
                self.problems.append(
                    f"{path}.{key} is not a known field: remove it (known fields: "
                    f"{', '.join(sorted(properties))})"
                )
        if len(value) < schema.get("minProperties", 0):
            self._empty(path, where, "is empty")
        if len(value) > schema.get("maxProperties", len(value)):
            self.problems.append(
                f"{path} has {len(value)} entries: at most {schema['maxProperties']} are allowed"
            )
        return result

    def _array(
        self, value: list[Any], schema: Mapping[str, Any], path: str, where: str
    ) -> list[Any]:
        if len(value) > schema.get("maxItems", len(value)):
            self.problems.append(
                f"{path} has {len(value)} entries: at most {schema['maxItems']} are allowed"
            )
        items = schema.get("items", {})
        checked = (self.check(v, items, f"{path}[{i}]", f"{where}[]") for i, v in enumerate(value))
        return [None if v is INVALID else v for v in checked]

    def _scalar(self, value: Any, schema: Mapping[str, Any], path: str, where: str) -> bool:
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(map(str, schema["enum"]))
            return self._say(path, where, value, f"{path} {value!r} is not one of {choices}")
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                bounds = f"from {low} to {high}"
            else:
                bounds = f"of {low} or more" if high is None else f"of at most {high}"
            self.problems.append(f"{path} is {value}: set a number {bounds}")
            return False
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0):
                return self._empty(path, where, "is required")
            if len(value) > schema.get("maxLength", len(value)):
                self.problems.append(
                    f"{path} {value!r} is longer than {schema['maxLength']} characters"
                )
                return False
            if "pattern" in schema and not re.search(schema["pattern"], value):
                message = f"{path} {value!r} does not match {schema['pattern']}"
                return self._say(path, where, value, message)
        return True

    def _say(self, path: str, where: str, value: Any, otherwise: str) -> bool:
        """Report a value that is not allowed, in the words of its hint when it has one."""
        hint = self.hints.get(where)
        if isinstance(hint, Hint):
            self.problems.append(f"{path} {value!r} is not {hint.what}: {hint.fix}")
        elif hint is not None:
            self.problems.append(hint(path, value))
        else:
            self.problems.append(otherwise)
        return False

    def _empty(self, path: str, where: str, what: str) -> bool:
        hint = self.hints.get(where)
        fix = f": {hint.fix}" if isinstance(hint, Hint) else ""
        self.problems.append(f"{path} {what}{fix}")
        return False


def _fills(schema: Mapping[str, Any]) -> bool:
    """An absent object of this schema is filled with its defaults: it has some, and no
    field it requires (the API server leaves absent objects absent; the operator reads an
    absent section as one with every default, which is what the CRD documents)."""
    if schema.get("type") != "object" or schema.get("required"):
        return False
    return any("default" in sub or _fills(sub) for sub in (schema.get("properties") or {}).values())
