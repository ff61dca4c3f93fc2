"""The deletion policy: per entity type, the scores that delete, quarantine or warn;
combinations; an allow-list (values, patterns, and hashes of values admins allowed). One YAML file (``default_policy.yaml`` documents the format and defaults)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from .catalog import BUILTIN_ENTITIES, closest, unknown_type_message
from .findings import Action, Decision, Finding, Reason, Verdict
from .valuehash import value_hash

SUPPORTED_VERSIONS = (1,)
Unscannable = Literal["delete", "warn", "alert"]
UNSCANNABLE: tuple[str, ...] = ("delete", "warn", "alert")
TOP_KEYS = ("version", "extends", "entities", "combinations", "allow", "unscannable")
COMBINATION_KEYS = ("name", "all", "any", "min_score", "action")
# What a policy file does with the built-in default policy; every structural error says it.
MERGE_NOTE = (
    "a policy file is merged over the built-in default policy (list only the types you "
    "change; TYPE: off drops one; `extends: none` replaces the defaults)"
)


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the value and the fix."""


# The actions a threshold or a combination can take, strictest first.
LEVELS: tuple[Literal["delete", "quarantine", "warn"], ...] = ("delete", "quarantine", "warn")


@dataclass(frozen=True, slots=True)
class Thresholds:
    delete: float | None = None
    warn: float | None = None
    quarantine: float | None = None

    def action(self, score: float) -> Action:
        for level in LEVELS:
            threshold = getattr(self, level)
            if threshold is not None and score >= threshold:
                return level
        return "ignore"

    @property
    def strongest(self) -> Action:
        return next((level for level in LEVELS if getattr(self, level) is not None), "ignore")


@dataclass(frozen=True, slots=True)
class Combination:
    name: str
    all: tuple[str, ...]
    any: tuple[str, ...]
    min_score: float
    action: Action


RANK = {"allow": 0, "ignore": 0, "warn": 1, "quarantine": 2, "delete": 3}


@dataclass(frozen=True)
class Policy:
    entities: dict[str, Thresholds] = field(default_factory=dict)
    combinations: tuple[Combination, ...] = ()
    allow_exact: frozenset[str] = frozenset()
    allow_regex: tuple[re.Pattern[str], ...] = ()
    # What happens to a file that cannot be checked (encrypted, unreadable, too large):
    # alert (the default) keeps it, DMs the author that it could not be checked, alerts
    # the admins and writes an audit row; warn only DMs the author; delete deletes it.
    unscannable: Unscannable = "alert"
    # Values an admin marked "not personal data", as keyed hashes (``valuehash``): given by
    # the caller (``with_allowed_hashes``), never in a policy file and never in clear.
    allow_hashes: frozenset[str] = frozenset()
    hash_keys: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @classmethod
    def default(cls) -> Policy:
        return _default()

    @classmethod
    def load(cls, path: str | Path | None, *, known_types: Iterable[str] | None = None) -> Policy:
        if path is None:
            return cls.default()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {str(path)!r}: {exc.strerror}") from None
        return cls.from_yaml(text, origin=str(path), known_types=known_types)

    @classmethod
    def from_yaml(
        cls, text: str, origin: str = "policy", *, known_types: Iterable[str] | None = None
    ) -> Policy:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise PolicyError(f"{origin} is not valid YAML: {exc}") from None
        return cls.from_dict(data, origin, known_types=known_types)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        origin: str = "policy",
        *,
        known_types: Iterable[str] | None = None,
        base: Policy | Literal["default"] | None = "default",
    ) -> Policy:
        """Parse a policy mapping; unless it says ``extends: none``, merge it over ``base``."""
        known = frozenset(BUILTIN_ENTITIES if known_types is None else known_types)
        if not isinstance(data, dict):
            raise PolicyError(f"{origin} must be a mapping with 'entities', 'combinations', "
                              f"'allow'; {MERGE_NOTE}")  # fmt: skip
        for key in data:
            if key not in TOP_KEYS:
                guess = closest(str(key), TOP_KEYS)
                hint = f"did you mean {guess}? " if guess else ""
                raise PolicyError(f"{origin}: unknown key {key!r}: {hint}expected one of "
                                  f"{', '.join(TOP_KEYS)}; {MERGE_NOTE}")  # fmt: skip
        version = data.get("version", 1)
        if version not in SUPPORTED_VERSIONS:
            raise PolicyError(f"{origin}: version {version!r} is not supported: this piiq reads "
                              f"policy version {', '.join(map(str, SUPPORTED_VERSIONS))}")  # fmt: skip
        extends = data.get("extends", "default")
        if extends not in ("default", "none", None):
            raise PolicyError(f"{origin}: extends must be 'default' (merge over the built-in "
                              f"policy) or 'none' (replace it), got {extends!r}")  # fmt: skip
        for key, kind in (("entities", dict), ("combinations", list), ("allow", dict)):
            if not isinstance(data.get(key) or kind(), kind):
                raise PolicyError(
                    f"{origin}: '{key}' must be a {'mapping' if kind is dict else 'list'}, "
                    f"got {data[key]!r}"
                )
        entities, dropped = _entities(data.get("entities") or {}, origin, known)
        combinations = _combinations(data.get("combinations"), origin, known)
        allow = data.get("allow") or {}
        if set(allow) - {"exact", "regex"}:
            raise PolicyError(f"{origin}: allow takes 'exact' and 'regex' lists, got "
                              f"{sorted(set(allow) - {'exact', 'regex'})}")  # fmt: skip
        patterns = []
        for pattern in allow.get("regex", []) or []:
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise PolicyError(
                    f"{origin}: allow regex {pattern!r} does not compile: {exc}"
                ) from None
        unscannable = data.get("unscannable")
        if unscannable is not None and unscannable not in UNSCANNABLE:
            raise PolicyError(f"{origin}: unscannable must be one of {', '.join(UNSCANNABLE)} "
                              f"(default alert), got {unscannable!r}")  # fmt: skip
        parsed = cls(
            entities,
            tuple(combinations or ()),
            frozenset(map(str, allow.get("exact", []) or [])),
            tuple(patterns),
            unscannable or "alert",
        )
        if extends in ("none", None) or base is None:
            return parsed
        parent = _default() if base == "default" else base
        merged = {k: v for k, v in parent.entities.items() if k not in dropped}
        merged.update(entities)
        return cls(
            merged,
            tuple(combinations) if combinations is not None else parent.combinations,
            parent.allow_exact | parsed.allow_exact,
            parent.allow_regex + parsed.allow_regex,
            unscannable or parent.unscannable,
        )

    def with_entities(self, extra: dict[str, Thresholds]) -> Policy:
        """This policy plus thresholds for types it does not list (custom recognizers)."""
        merged = dict(extra)
        merged.update(self.entities)
        return replace(self, entities=merged)

    @property
    def entity_types(self) -> list[str]:
        """Types the analyzer must look for: listed ones and those in combinations."""
        types = set(self.entities)
        for combo in self.combinations:
            types.update(combo.all)
            types.update(combo.any)
        return sorted(types)

    def with_allowed_hashes(
        self, hashes: Iterable[str], keys: Iterable[tuple[str, bytes]]
    ) -> Policy:
        """This policy also allowing values whose hash (``valuehash.value_hash`` under one
        of ``keys``: (key id, key)) is in ``hashes``."""
        return replace(self, allow_hashes=frozenset(hashes), hash_keys=tuple(keys))

    def allowed(self, value: str) -> bool:
        if value in self.allow_exact or any(p.fullmatch(value) for p in self.allow_regex):
            return True
        return bool(self.allow_hashes) and any(
            value_hash(value, key_id, key) in self.allow_hashes for key_id, key in self.hash_keys
        )

    def missing_for(self, findings: list[Finding], optional: Iterable[str]) -> frozenset[str]:
        """Which of the ``optional`` types (names and places from NER, run on demand) could
        still raise the decision over ``findings``: through their own thresholds or by
        completing a combination whose other parts are already found."""
        optional = frozenset(optional)
        current = RANK[self.decide(findings).action]
        needed: set[str] = set()
        for entity_type in optional:
            thresholds = self.entities.get(entity_type)
            if thresholds is not None and RANK[thresholds.strongest] > current:
                needed.add(entity_type)
        for combo in self.combinations:
            if RANK[combo.action] <= current:
                continue
            strong = {f.entity_type for f in findings if f.score >= combo.min_score}
            missing = set(combo.all) - strong
            if missing - optional:
                continue  # a pattern type is missing: NER cannot complete this one
            if combo.any and not strong & set(combo.any):
                if not set(combo.any) & optional:
                    continue
                missing |= set(combo.any) & optional
            needed |= missing
        return frozenset(needed)

    def classify(self, finding: Finding) -> Action:
        return self.entities.get(finding.entity_type, Thresholds()).action(finding.score)

    def decide(self, findings: list[Finding]) -> Decision:
        """The decision over every finding of a message (text, attachments, files)."""
        verdicts: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            if finding.action != "ignore":
                verdicts[finding.action].append(finding)
        reasons: list[Reason] = []
        for level in LEVELS:
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
        action: Verdict = next((level for level in LEVELS if verdicts[level]), "allow")
        return Decision(action, tuple(reasons) if action != "allow" else (), tuple(findings))


def _default() -> Policy:
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("piiq.detect").joinpath("default_policy.yaml").read_text()
        data = yaml.safe_load(text)
        _DEFAULT = Policy.from_dict(data, "the default policy", base=None)
    return _DEFAULT


_DEFAULT: Policy | None = None


def _entities(
    spec: dict[str, Any], origin: str, known: frozenset[str]
) -> tuple[dict[str, Thresholds], set[str]]:
    entities: dict[str, Thresholds] = {}
    dropped: set[str] = set()
    for name, value in spec.items():
        name = str(name)
        if name not in known:
            raise PolicyError(f"{origin}: entity {unknown_type_message(name, known)}")
        if value is False or value == "off":
            dropped.add(name)
            continue
        value = value or {}
        if not isinstance(value, dict) or set(value) - set(LEVELS):
            raise PolicyError(f"{origin}: entity {name!r} must map to {{delete: score, "
                              f"quarantine: score, warn: score}} (or off), got {value!r}")  # fmt: skip
        for key, score in value.items():
            if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
                raise PolicyError(f"{origin}: {name}.{key} = {score!r} must be a score from 0 to 1")
        entities[name] = Thresholds(value.get("delete"), value.get("warn"), value.get("quarantine"))
    return entities, dropped


def _combinations(
    spec: list[Any] | None, origin: str, known: frozenset[str]
) -> list[Combination] | None:
    if spec is None:
        return None
    combinations = []
    for i, item in enumerate(spec, start=1):
        where = f"{origin}: combination {i}"
        if not isinstance(item, dict) or "all" not in item:
            raise PolicyError(f"{where} is incomplete; give all: [TYPES] (and any: [TYPES])")
        for key in item:
            if key not in COMBINATION_KEYS:
                guess = closest(str(key), COMBINATION_KEYS)
                hint = f"did you mean {guess}? " if guess else ""
                raise PolicyError(f"{where}: unknown key {key!r}: {hint}expected "
                                  f"{', '.join(COMBINATION_KEYS)}")  # fmt: skip
        types: dict[str, tuple[str, ...]] = {}
        for key in ("all", "any"):
            value = item.get(key) or []
            if not isinstance(value, list):
                raise PolicyError(f"{where}: {key} must be a list of types, got {value!r}")
            for name in value:
                if str(name) not in known:
                    raise PolicyError(f"{where}: {unknown_type_message(str(name), known)}")
            types[key] = tuple(map(str, value))
        if not types["all"]:
            raise PolicyError(f"{where} is incomplete; give all: [TYPES] (and any: [TYPES])")
        action = item.get("action", "delete")
        if action not in LEVELS:
            raise PolicyError(f"{where}: action must be {', '.join(LEVELS)}, got {action!r}")
        min_score = item.get("min_score", 0.0)
        if (
            isinstance(min_score, bool)
            or not isinstance(min_score, int | float)
            or not 0 <= min_score <= 1
        ):
            raise PolicyError(f"{where}: min_score = {min_score!r} must be a score from 0 to 1")
        combinations.append(
            Combination(
                str(item.get("name", f"combination {i}")),
                types["all"],
                types["any"],
                float(min_score),
                action,
            )
        )
    return combinations


def _group(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.entity_type].append(finding)
    return groups


def _reason(entity_type: str, group: list[Finding], rule: str) -> Reason:
    sources = tuple(dict.fromkeys(f.source for f in group))
    return Reason(entity_type, len(group), max(f.score for f in group), sources, rule)
