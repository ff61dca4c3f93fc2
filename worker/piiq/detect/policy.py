"""The deletion policy: per entity type, the scores that delete or warn; combinations; an
allow-list. One YAML file (``default_policy.yaml`` documents the format and defaults)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from .findings import Action, Decision, Finding, Reason

Unscannable = Literal["delete", "warn", "alert"]


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the value and the fix."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    delete: float | None = None
    warn: float | None = None

    def action(self, score: float) -> Action:
        if self.delete is not None and score >= self.delete:
            return "delete"
        if self.warn is not None and score >= self.warn:
            return "warn"
        return "ignore"


@dataclass(frozen=True, slots=True)
class Combination:
    name: str
    all: tuple[str, ...]
    any: tuple[str, ...]
    min_score: float
    action: Action


@dataclass(frozen=True)
class Policy:
    entities: dict[str, Thresholds] = field(default_factory=dict)
    combinations: tuple[Combination, ...] = ()
    allow_exact: frozenset[str] = frozenset()
    allow_regex: tuple[re.Pattern[str], ...] = ()
    # A file piiq could not (fully) read: delete it, warn its author, or warn and alert
    # the admin channel (the default: deleting every encrypted file would punish normal
    # work; letting it pass silently would fail open).
    unscannable: Unscannable = "alert"

    @classmethod
    def default(cls) -> Policy:
        text = resources.files("piiq.detect").joinpath("default_policy.yaml").read_text()
        return cls.from_yaml(text, origin="the default policy")

    @classmethod
    def load(cls, path: str | Path | None) -> Policy:
        if path is None:
            return cls.default()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {str(path)!r}: {exc.strerror}") from None
        return cls.from_yaml(text, origin=str(path))

    @classmethod
    def from_yaml(cls, text: str, origin: str = "policy") -> Policy:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise PolicyError(f"{origin} is not valid YAML: {exc}") from None
        return cls.from_dict(data, origin)

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "policy") -> Policy:
        if not isinstance(data, dict):
            raise PolicyError(
                f"{origin} must be a mapping with 'entities', 'combinations', 'allow'"
            )
        unknown = set(data) - {"version", "entities", "combinations", "allow", "unscannable"}
        if unknown:
            raise PolicyError(
                f"{origin}: unknown keys {sorted(unknown)}; expected entities, combinations, "
                "allow, unscannable"
            )
        unscannable = data.get("unscannable", "alert")
        if unscannable not in get_args(Unscannable):
            raise PolicyError(
                f"{origin}: unscannable = {unscannable!r}; expected delete, warn or alert"
            )
        for key, kind in (("entities", dict), ("combinations", list), ("allow", dict)):
            if not isinstance(data.get(key) or kind(), kind):
                raise PolicyError(
                    f"{origin}: '{key}' must be a {'mapping' if kind is dict else 'list'}, "
                    f"got {data[key]!r}"
                )
        entities = {}
        for name, spec in (data.get("entities") or {}).items():
            spec = spec or {}
            if not isinstance(spec, dict) or set(spec) - {"delete", "warn"}:
                raise PolicyError(
                    f"{origin}: entity {name!r} must map to {{delete: score, warn: score}}, got {spec!r}"
                )
            for key, value in spec.items():
                if not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise PolicyError(
                        f"{origin}: {name}.{key} = {value!r} must be a score from 0 to 1"
                    )
            entities[str(name)] = Thresholds(spec.get("delete"), spec.get("warn"))
        combinations = []
        for i, spec in enumerate(data.get("combinations") or []):
            try:
                combinations.append(
                    Combination(
                        name=str(spec.get("name", f"combination {i + 1}")),
                        all=tuple(spec["all"]),
                        any=tuple(spec.get("any", ())),
                        min_score=float(spec.get("min_score", 0.0)),
                        action=spec.get("action", "delete"),
                    )
                )
            except (KeyError, TypeError, AttributeError) as exc:
                raise PolicyError(
                    f"{origin}: combination {i + 1} is incomplete ({exc}); give all: [TYPES]"
                ) from None
            if combinations[-1].action not in ("delete", "warn"):
                raise PolicyError(f"{origin}: combination {i + 1} action must be delete or warn")
        allow = data.get("allow") or {}
        patterns = []
        for pattern in allow.get("regex", []) or []:
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise PolicyError(
                    f"{origin}: allow regex {pattern!r} does not compile: {exc}"
                ) from None
        return cls(
            entities,
            tuple(combinations),
            frozenset(map(str, allow.get("exact", []) or [])),
            tuple(patterns),
            unscannable,
        )

    @property
    def entity_types(self) -> list[str]:
        """Types the analyzer must look for: listed ones and those in combinations."""
        types = set(self.entities)
        for combo in self.combinations:
            types.update(combo.all)
            types.update(combo.any)
        return sorted(types)

    def allowed(self, value: str) -> bool:
        return value in self.allow_exact or any(p.fullmatch(value) for p in self.allow_regex)

    def classify(self, finding: Finding) -> Action:
        return self.entities.get(finding.entity_type, Thresholds()).action(finding.score)

    def decide(self, findings: list[Finding]) -> Decision:
        """The decision over every finding of a message (text, attachments, files)."""
        verdicts: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            if finding.action != "ignore":
                verdicts[finding.action].append(finding)
        reasons: list[Reason] = []
        action: str = "allow"
        for level in ("delete", "warn"):
            for entity_type, group in _group(verdicts[level]).items():
                reasons.append(_reason(entity_type, group, f"{entity_type} {level}"))
        for combo in self.combinations:
            strong = [f for f in findings if f.score >= combo.min_score]
            strong_types = {f.entity_type for f in strong}
            if set(combo.all) <= strong_types and (not combo.any or strong_types & set(combo.any)):
                involved = [f for f in strong if f.entity_type in set(combo.all) | set(combo.any)]
                for entity_type, group in _group(involved).items():
                    reasons.append(_reason(entity_type, group, combo.name))
                verdicts[combo.action].extend(involved)
        if verdicts["delete"]:
            action = "delete"
        elif verdicts["warn"]:
            action = "warn"
        return Decision(action, tuple(reasons) if action != "allow" else (), tuple(findings))


def _group(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.entity_type].append(finding)
    return groups


def _reason(entity_type: str, group: list[Finding], rule: str) -> Reason:
    sources = tuple(dict.fromkeys(f.source for f in group))
    return Reason(entity_type, len(group), max(f.score for f in group), sources, rule)
