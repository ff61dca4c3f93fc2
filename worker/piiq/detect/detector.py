"""Scan Slack message parts for personal data and decide what to do about it."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from .catalog import BUILTIN_ENTITIES, NER_ENTITIES
from .engine import DEFAULT_MODEL, DEFAULT_PHONE_REGIONS, Analyzer, build_analyzer
from .findings import Decision, Finding
from .markup import CleanText, clean_slack_markup
from .policy import Policy
from .recognizers import load_recognizers
from .resolve import Hit

# Texts longer than this get NER only in windows around the findings that could complete
# a rule (a 1 MB file with one phone number is not read by the model from end to end).
NER_WHOLE_TEXT = 4000
NER_WINDOW = 1000


@dataclass(frozen=True, slots=True)
class Source:
    """One text of a message: its body, an attachment, blocks, a file's extracted text."""

    name: str
    text: str
    slack_markup: bool = True  # message text uses Slack mrkdwn; file text does not


@dataclass(slots=True)
class ScanResult:
    findings: list[Finding]  # offsets into each source's original text
    decision: Decision
    # per source: the text people read (Slack markup resolved) and the findings in it
    readable: dict[str, tuple[str, list[Finding]]] = field(repr=False, default_factory=dict)

    def findings_for(self, source: str) -> list[Finding]:
        return [f for f in self.findings if f.source == source]

    def readable_findings(self, source: str) -> tuple[str, list[Finding]]:
        """The readable text of ``source`` and the findings with offsets into it."""
        return self.readable.get(source, ("", []))


class Detector:
    """A long-lived analyzer (loading the model takes a second) plus the policy."""

    def __init__(
        self,
        analyzer: Analyzer,
        policy: Policy,
        *,
        language: str = "en",
        batch_size: int = 64,
    ) -> None:
        self.analyzer = analyzer
        self.policy = policy
        self.language = language
        self.batch_size = batch_size
        self._anonymizer = AnonymizerEngine()
        types = set(policy.entity_types)
        self._ner_types = frozenset(types & set(NER_ENTITIES))
        self._pattern_types = frozenset(types - set(NER_ENTITIES))

    @classmethod
    def create(
        cls,
        *,
        model: str = DEFAULT_MODEL,
        policy_file: str | None = None,
        recognizers_file: str | None = None,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        language: str = "en",
    ) -> Detector:
        extra, thresholds = (
            load_recognizers(recognizers_file, language) if recognizers_file else ([], {})
        )
        known = set(BUILTIN_ENTITIES)
        for recognizer in extra:
            known.update(recognizer.supported_entities)
        policy = Policy.load(policy_file, known_types=known).with_entities(thresholds)
        analyzer = build_analyzer(
            model, language=language, phone_regions=phone_regions, extra_recognizers=extra
        )
        return cls(analyzer, policy, language=language)

    @classmethod
    def from_settings(cls, settings: object | None = None) -> Detector:
        from ..runtime.settings import Settings

        s = settings if isinstance(settings, Settings) else Settings()
        return cls.create(
            model=s.spacy_model,
            policy_file=s.policy_file,
            recognizers_file=s.recognizers_file,
            phone_regions=tuple(s.phone_regions),
        )

    @classmethod
    def from_files(
        cls,
        *,
        policy: str | Path | None = None,
        recognizers: str | Path | None = None,
        settings: object | None = None,
    ) -> Detector:
        """The detector of the settings (model, phone regions, files), with ``policy`` and
        ``recognizers`` files in place of the configured ones where given (``piiq scan
        --policy FILE --recognizers FILE``). Bad files raise ``PolicyError`` naming the fix."""
        from ..runtime.settings import Settings

        s = settings if isinstance(settings, Settings) else Settings()
        return cls.create(
            model=s.spacy_model,
            policy_file=str(policy) if policy is not None else s.policy_file,
            recognizers_file=str(recognizers) if recognizers is not None else s.recognizers_file,
            phone_regions=tuple(s.phone_regions),
        )

    def with_policy(self, policy: Policy) -> Detector:
        """This detector (the same loaded analyzer) judging by ``policy``: cheap, per job
        (e.g. the policy plus a workspace's allowed value hashes). The policy must look for
        the same entity types."""
        other = copy.copy(self)
        other.policy = policy
        return other

    def scan(self, sources: Sequence[Source]) -> ScanResult:
        """Scan every part of one message; the decision covers them all."""
        return self.scan_many([sources])[0]

    def scan_many(self, messages: Sequence[Sequence[Source]]) -> list[ScanResult]:
        """Scan many messages: patterns on every text, then NER in one batch on the texts
        whose findings could complete a rule that needs a name or a place."""
        flat = [source for sources in messages for source in sources]
        cleaned = [clean_slack_markup(s.text) if s.slack_markup else None for s in flat]
        texts = [c.text if c is not None else s.text for c, s in zip(cleaned, flat, strict=True)]
        hits = [self.analyzer.patterns.analyze(text, self._pattern_types) for text in texts]
        spans = _message_spans(messages)
        if self._ner_types:
            self._add_ner(texts, hits, spans)
        per_source = [
            self._findings(source, clean, text, found)
            for source, clean, text, found in zip(flat, cleaned, texts, hits, strict=True)
        ]
        out = []
        for sources, (first, last) in zip(messages, spans, strict=True):
            parts = per_source[first:last]
            findings = [f for found, _ in parts for f in found]
            readable = {
                s.name: (text, found) for s, (_, (text, found)) in zip(sources, parts, strict=True)
            }
            out.append(ScanResult(findings, self.policy.decide(findings), readable))
        return out

    def _add_ner(
        self, texts: list[str], hits: list[list[Hit]], spans: list[tuple[int, int]]
    ) -> None:
        """Run NER where the policy could still use a name or place, and add its hits."""
        jobs: list[tuple[int, int, str]] = []  # (source index, offset, text to read)
        for first, last in spans:
            findings = [
                Finding(h.entity_type, h.score, h.start, h.end, str(i))
                for i in range(first, last)
                for h in hits[i]
                if not self.policy.allowed(texts[i][h.start : h.end])
            ]
            findings = [replace(f, action=self.policy.classify(f)) for f in findings]
            needed = self.policy.missing_for(findings, self._ner_types)
            if not needed:
                continue
            for i in range(first, last):
                jobs.extend((i, offset, part) for offset, part in _ner_parts(texts[i], hits[i]))
        if not jobs:
            return
        found = self.analyzer.ner.find([part for _, _, part in jobs], batch_size=self.batch_size)
        for (i, offset, _), ner_hits in zip(jobs, found, strict=True):
            for h in ner_hits:
                hit = replace(h, start=h.start + offset, end=h.end + offset)
                if hit.entity_type in self._ner_types and not any(hit.overlaps(k) for k in hits[i]):
                    hits[i].append(hit)
            hits[i].sort(key=lambda h: (h.start, h.end))

    def _findings(
        self, source: Source, clean: CleanText | None, text: str, hits: list[Hit]
    ) -> tuple[list[Finding], tuple[str, list[Finding]]]:
        findings, readable = [], []
        for hit in hits:
            if self.policy.allowed(text[hit.start : hit.end]):
                continue
            finding = Finding(hit.entity_type, hit.score, hit.start, hit.end, source.name)
            finding = replace(finding, action=self.policy.classify(finding))
            readable.append(finding)
            if clean is not None:
                start, end = clean.to_original(hit.start, hit.end)
                finding = replace(finding, start=start, end=end)
            findings.append(finding)
        return findings, (text, readable)

    def redacted(self, result: ScanResult, source: str) -> str:
        """The readable text of ``source`` with the decision's findings as ``<TYPE>``."""
        text, findings = result.readable_findings(source)
        return self.redact(text, findings, result.decision)

    def redact(
        self, text: str, findings: Sequence[Finding], decision: Decision | None = None
    ) -> str:
        """``text`` with each finding the decision rests on replaced by ``<TYPE>``."""
        types = {r.entity_type for r in decision.reasons} if decision is not None else None
        chosen = [
            RecognizerResult(f.entity_type, f.start, f.end, f.score)
            for f in findings
            if f.action != "ignore" or (types is not None and f.entity_type in types)
        ]
        if not chosen:
            return text
        return self._anonymizer.anonymize(
            text=text, analyzer_results=chosen, operators={"DEFAULT": OperatorConfig("replace")}
        ).text


def _message_spans(messages: Sequence[Sequence[Source]]) -> list[tuple[int, int]]:
    spans, i = [], 0
    for sources in messages:
        spans.append((i, i + len(sources)))
        i += len(sources)
    return spans


def _ner_parts(text: str, hits: list[Hit]) -> list[tuple[int, str]]:
    """What NER reads of one text: all of a short one; windows around the findings of a
    long one (a name that completes a combination stands near the contact details)."""
    if not text.strip():
        return []
    if len(text) <= NER_WHOLE_TEXT:
        return [(0, text)]
    windows: list[list[int]] = []
    for hit in hits:
        start, end = max(0, hit.start - NER_WINDOW), min(len(text), hit.end + NER_WINDOW)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], end)
        else:
            windows.append([start, end])
    return [(start, text[start:end]) for start, end in windows]
