"""Custom recognizers from YAML: your own identifiers and secrets, with their policy.

recognizers:
  - entity: EMPLOYEE_ID
    patterns:
      - {name: employee id, regex: '\\bEMP-\\d{6}\\b', score: 0.6}
    context: [employee, badge]      # nearby words raise the score
    deny_list: []                   # or exact words that always match
    policy: {delete: 0.5}           # used when the policy file does not list the type
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from presidio_analyzer import Pattern, PatternRecognizer

from .catalog import BUILTIN_ENTITIES, closest
from .policy import LEVELS, PolicyError, Thresholds

KEYS = ("entity", "name", "patterns", "context", "deny_list", "policy")
PATTERN_KEYS = ("name", "regex", "score")
ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def load_recognizers(
    path: str | Path, language: str = "en"
) -> tuple[list[PatternRecognizer], dict[str, Thresholds]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise PolicyError(f"cannot read recognizers file {str(path)!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"recognizers file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"recognizers", "version"}:
        raise PolicyError(f"recognizers file {str(path)!r} must be a mapping with a "
                          "'recognizers' list (see examples/recognizers.yaml)")  # fmt: skip
    if data.get("version", 1) != 1:
        raise PolicyError(f"recognizers file {str(path)!r}: version {data['version']!r} is not "
                          "supported: this piiq reads version 1")  # fmt: skip
    recognizers: list[PatternRecognizer] = []
    thresholds: dict[str, Thresholds] = {}
    for i, spec in enumerate(data.get("recognizers") or [], start=1):
        recognizers.append(_recognizer(spec, i, str(path), language))
        policy = spec.get("policy")
        if policy:
            thresholds[spec["entity"]] = _thresholds(policy, f"{path}: recognizer {i}")
    return recognizers, thresholds


def _thresholds(policy: Any, where: str) -> Thresholds:
    if not isinstance(policy, dict) or set(policy) - set(LEVELS):
        raise PolicyError(
            f"{where}: policy must be {{delete: score, quarantine: score, warn: score}}, "
            f"got {policy!r}"
        )
    for key, score in policy.items():
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise PolicyError(f"{where}: policy.{key} = {score!r} must be a score from 0 to 1")
    return Thresholds(policy.get("delete"), policy.get("warn"), policy.get("quarantine"))


def _check_keys(spec: dict[str, Any], where: str) -> None:
    for key in spec:
        if key not in KEYS:
            guess = closest(str(key), KEYS)
            hint = f"did you mean {guess}? " if guess else ""
            raise PolicyError(f"{where}: unknown key {key!r}: {hint}expected {', '.join(KEYS)}")
    entity = str(spec["entity"])
    if not ENTITY_NAME.fullmatch(entity):
        raise PolicyError(f"{where}: entity {entity!r} must be an upper-case name like EMPLOYEE_ID")
    guess = closest(entity, BUILTIN_ENTITIES, cutoff=0.8)
    if entity not in BUILTIN_ENTITIES and guess is not None:
        raise PolicyError(f"{where}: entity {entity}: did you mean {guess}? (a new type needs "
                          "a name not this close to a built-in one)")  # fmt: skip


def _recognizer(spec: dict[str, Any], i: int, origin: str, language: str) -> PatternRecognizer:
    where = f"{origin}: recognizer {i}"
    if not isinstance(spec, dict) or "entity" not in spec:
        raise PolicyError(f"{where} needs an 'entity' (e.g. EMPLOYEE_ID)")
    _check_keys(spec, where)
    patterns = []
    for p in spec.get("patterns") or []:
        if not isinstance(p, dict) or set(p) - set(PATTERN_KEYS):
            raise PolicyError(f"{where}: each pattern is {{name, regex, score}}, got {p!r}")
        try:
            re.compile(p["regex"])
            patterns.append(
                Pattern(p.get("name", spec["entity"]), p["regex"], float(p.get("score", 0.5)))
            )
        except KeyError:
            raise PolicyError(f"{where}: each pattern needs a 'regex'") from None
        except re.error as exc:
            raise PolicyError(f"{where}: regex {p['regex']!r} does not compile: {exc}") from None
    deny_list = spec.get("deny_list") or []
    if not patterns and not deny_list:
        raise PolicyError(f"{where} ({spec['entity']}) needs patterns or a deny_list")
    return PatternRecognizer(
        supported_entity=spec["entity"],
        name=spec.get("name", f"custom {spec['entity']}"),
        patterns=patterns,
        deny_list=deny_list,
        context=spec.get("context") or [],
        supported_language=language,
    )
