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

from .policy import PolicyError, Thresholds


def load_recognizers(
    path: str | Path, language: str = "en"
) -> tuple[list[PatternRecognizer], dict[str, Thresholds]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise PolicyError(f"cannot read recognizers file {str(path)!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"recognizers file {str(path)!r} is not valid YAML: {exc}") from None
    recognizers: list[PatternRecognizer] = []
    thresholds: dict[str, Thresholds] = {}
    for i, spec in enumerate(data.get("recognizers") or [], start=1):
        recognizers.append(_recognizer(spec, i, str(path), language))
        policy = spec.get("policy")
        if policy:
            thresholds[spec["entity"]] = Thresholds(policy.get("delete"), policy.get("warn"))
    return recognizers, thresholds


def _recognizer(spec: dict[str, Any], i: int, origin: str, language: str) -> PatternRecognizer:
    where = f"{origin}: recognizer {i}"
    if not isinstance(spec, dict) or "entity" not in spec:
        raise PolicyError(f"{where} needs an 'entity' (e.g. EMPLOYEE_ID)")
    patterns = []
    for p in spec.get("patterns") or []:
        try:
            re.compile(p["regex"])
            patterns.append(
                Pattern(p.get("name", spec["entity"]), p["regex"], float(p.get("score", 0.5)))
            )
        except KeyError:
            raise PolicyError(f"{where}: each pattern needs a 'regex'") from None
        except re.error as exc:
            raise PolicyError(f"{where}: regex {p['regex']!r} does not compile: {exc}") from None
    deny_list = spec.get("deny_list") or None
    if not patterns and not deny_list:
        raise PolicyError(f"{where} ({spec['entity']}) needs patterns or a deny_list")
    return PatternRecognizer(
        supported_entity=spec["entity"],
        name=spec.get("name", f"custom {spec['entity']}"),
        patterns=patterns or None,
        deny_list=deny_list,
        context=spec.get("context") or None,
        supported_language=language,
    )
