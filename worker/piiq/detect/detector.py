"""Scan Slack message parts for personal data and decide what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from .engine import DEFAULT_MODEL, DEFAULT_PHONE_REGIONS, build_analyzer
from .findings import Decision, Finding
from .markup import clean_slack_markup
from .policy import Policy
from .recognizers import load_recognizers


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
    """A long-lived analyzer (loading the model takes seconds) plus the policy."""

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        policy: Policy,
        *,
        language: str = "en",
        batch_size: int = 64,
    ) -> None:
        self.analyzer = analyzer
        self.batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        self.policy = policy
        self.language = language
        self.batch_size = batch_size
        self._anonymizer = AnonymizerEngine()
        self._entities = sorted(set(policy.entity_types))

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
        policy = Policy.load(policy_file)
        extra = []
        if recognizers_file:
            extra, thresholds = load_recognizers(recognizers_file, language)
            merged = dict(thresholds)
            merged.update(policy.entities)  # the policy file wins where it speaks
            policy = replace(policy, entities=merged)
        analyzer = build_analyzer(
            model, language=language, phone_regions=phone_regions, extra_recognizers=extra
        )
        return cls(analyzer, policy, language=language)

    @classmethod
    def from_settings(cls, settings: object | None = None) -> Detector:
        from ..settings import Settings

        s = settings if isinstance(settings, Settings) else Settings()
        return cls.create(
            model=s.spacy_model,
            policy_file=s.policy_file,
            recognizers_file=s.recognizers_file,
            phone_regions=tuple(s.phone_regions),
        )

    def scan(self, sources: Sequence[Source]) -> ScanResult:
        """Scan every part of one message; the decision covers them all."""
        return self.scan_many([sources])[0]

    def scan_many(self, messages: Sequence[Sequence[Source]]) -> list[ScanResult]:
        """Scan many messages in one batch through spaCy (1.5-2x faster than one by one)."""
        flat = [source for sources in messages for source in sources]
        cleaned = [clean_slack_markup(s.text) if s.slack_markup else None for s in flat]
        texts = [c.text if c is not None else s.text for c, s in zip(cleaned, flat, strict=True)]
        analyzed = self.batch.analyze_iterator(
            texts, language=self.language, batch_size=self.batch_size, entities=self._entities
        )
        per_source: list[tuple[list[Finding], str, list[Finding]]] = []
        for source, clean, text, results in zip(flat, cleaned, texts, analyzed, strict=True):
            findings, readable = [], []
            for r in _without_overlaps(results):
                if self.policy.allowed(text[r.start : r.end]):
                    continue
                finding = Finding(r.entity_type, float(r.score), r.start, r.end, source.name)
                finding = replace(finding, action=self.policy.classify(finding))
                readable.append(finding)
                if clean is not None:
                    start, end = clean.to_original(r.start, r.end)
                    finding = replace(finding, start=start, end=end)
                findings.append(finding)
            per_source.append((findings, text, readable))
        out, i = [], 0
        for sources in messages:
            parts = per_source[i : i + len(sources)]
            i += len(sources)
            findings = [f for found, _, _ in parts for f in found]
            readable = {
                s.name: (text, found) for s, (_, text, found) in zip(sources, parts, strict=True)
            }
            out.append(ScanResult(findings, self.policy.decide(findings), readable))
        return out

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


def _without_overlaps(results: list) -> list:  # type: ignore[type-arg]
    """Keep the strongest of overlapping results (an email also matched as two URLs)."""
    kept: list = []  # type: ignore[type-arg]
    for r in sorted(results, key=lambda r: (-r.score, r.start)):
        if all(r.end <= k.start or r.start >= k.end for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: r.start)
