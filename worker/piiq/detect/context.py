"""The words around a match, and the digit runs that are never personal data.

Context: a recognizer's context words count when one of the few words before or after a
match is one of them (``phone`` also matches ``phones``), compared as plain lower-case
words. Presidio compares lemmas and skips spaCy's stop words, so "call" and "name" never
counted there; here no NLP pipeline is needed for it at all.

Noise: engineering chat is full of digits that are no identifier: IPv4/IPv6 addresses with
or without a port, dates and timestamps, version strings, durations, byte counts, port
numbers, cloud account IDs, build and ticket numbers, commit hashes, UUIDs, epoch times,
counts with thousands separators. ``noise_spans`` finds them once per text; the
digit-based recognizers (phone, bank, NHS, passport, all-digit national IDs) drop any
match that overlaps one.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# How far context reaches, in words (Presidio: 5 before, 0 after).
BEFORE = 6
AFTER = 4


@dataclass(frozen=True, slots=True)
class Words:
    """The lower-case words of a text with their offsets, for context look-ups."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    words: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Words:
        found = [(m.start(), m.end(), m.group().lower()) for m in WORD.finditer(text)]
        return cls(
            tuple(s for s, _, _ in found),
            tuple(e for _, e, _ in found),
            tuple(w for *_, w in found),
        )

    def around(self, start: int, end: int, before: int = BEFORE, after: int = AFTER) -> list[str]:
        """The words ending before ``start`` (nearest last) and starting after ``end``."""
        first_after = bisect_left(self.starts, end)
        last_before = bisect_left(self.ends, start + 1)  # words ending at or before start
        return list(self.words[max(0, last_before - before) : last_before]) + list(
            self.words[first_after : first_after + after]
        )

    def before(self, start: int, count: int) -> list[str]:
        last_before = bisect_left(self.ends, start + 1)
        return list(self.words[max(0, last_before - count) : last_before])

    def leading(self, text: str, start: int, count: int = 3) -> list[str]:
        """The words right before ``start`` in the same clause: none across a comma, a
        sentence end or another number ("my ssn is 536-22-1894, call 212-555-0147")."""
        window = text[max(0, start - 60) : start]
        cut = max((i for i, c in enumerate(window) if c in ",;!?\n" or c.isdigit()), default=-1)
        return [w.lower() for w in WORD.findall(window[cut + 1 :])][-count:]


def matches(words: Iterable[str], vocabulary: frozenset[str]) -> bool:
    """Whether any word is in ``vocabulary``, or extends one of its words of 4+ letters."""
    for word in words:
        if word in vocabulary:
            return True
        for known in vocabulary:
            if len(known) >= 4 and word.startswith(known) and len(word) <= len(known) + 3:
                return True
    return False


def vocabulary(words: Iterable[str]) -> frozenset[str]:
    """Context words as single lower-case words ("credit card" gives both)."""
    return frozenset(w for phrase in words for w in WORD.findall(str(phrase).lower()))


_UNITS = (
    r"ns|us|µs|ms|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|"
    r"b|kb|mb|gb|tb|pb|kib|mib|gib|tib|bytes?|k|%|px|rpm|rps|qps|ops|req/s|msg/s|"
    r"rows?|records?|items?|files?|lines?|commits?|tests?|times|users?|msgs?|messages?"
)
# Words that, right before a number, make it a reference and not personal data.
REFERENCE_WORDS = (
    r"build|builds|ticket|tickets|issue|issues|pr|prs|mr|pull|job|jobs|run|runs|pipeline|bug|"
    r"bugs|incident|inc|commit|rev|revision|release|version|ver|pid|port|ports|line|lines|row|"
    r"rows|page|pages|step|attempt|errno|exit|trace|span|request|req|offset|seq|sequence|epoch|"
    r"timestamp|ts|size|order|invoice|tracking|ref|reference|confirmation|serial|sku|part|"
    r"changeset|cl|rfc|cve|pep|jira|case|task|story|epic|sprint|run_id|build_id|task_id|"
    r"node|nodes|pod|host|shard|partition|replica|worker|thread|batch|chunk|block|height|slot|"
    r"tx|txid|hash|checksum|crc|port_number|uid|gid|inode|bytes|count|total|sum|limit|max|min"
)
NOISE_PATTERNS = [
    # ISO dates and timestamps: 2024-05-01, 2024-05-01 17:25:13.080459+00:00
    r"(?<![\d./-])\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b(?![./-]\d)",
    # 01/05/2024, 1.5.24, 12-31-99: day and month in range
    r"(?<![\d./-])\b(?:0?[1-9]|[12]\d|3[01])([/.-])(?:0?[1-9]|[12]\d|3[01])\1(?:\d{4}|\d{2})\b(?![./-]\d)",
    r"\b\d{8}T\d{4,6}Z?\b",  # 20240501T172513Z
    r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{2,6})?\b",  # 20240501(1725)
    r"\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\b",  # 17:25, 17:25:13.080
    # IPv4 with a port or a prefix length; IPv6 (at least two colons), bracketed with a port
    r"(?<![\d.+])\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5}|/\d{1,2})?\b(?!\.\d)",
    r"\[?\b[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\d{1,3}\.){3}\d{1,3})?\]?(?::\d{1,5})?",
    r"\[?::[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){0,6}\]?(?::\d{1,5})?",
    # versions: v1.2.3, 3.11.7, 2.2.366, 1.0.0-rc.1, ==2.31.0
    r"\b[vV]\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.]+)?\b",
    r"(?<![\d.+])\d{1,2}(?:\.\d+){1,3}(?![\d.]*\.\d)(?:[-+][0-9A-Za-z.]+)?\b",
    r"(?:==|>=|<=|~=|!=|@|\bversion\s|\brelease\s)\s*\d+(?:\.\d+)+",
    # durations, sizes, counts with a unit: 1500ms, 2.5 s, 4096 bytes, 12 GiB, 300 rows
    rf"\b\d+(?:[.,]\d+)?\s?(?i:{_UNITS})\b",
    r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b",  # 1,234,567
    # ports: host:5432, :8080, port 8080
    r"(?<=[\w\]]):\d{2,5}\b",
    # UUIDs and hex hashes (with both a letter and a digit), 0x literals
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,64}\b",
    r"\b(?=[0-9A-F]*[A-F])(?=[0-9A-F]*\d)[0-9A-F]{12,64}\b",
    r"\b0x[0-9a-fA-F]+\b",
    # tickets and references: #1234, PROJ-1234, CVE-2024-12345, GH-12
    r"#\d+\b",
    r"\b[A-Z][A-Z0-9]{1,9}-\d+(?:-\d+)?\b",
    rf"(?i:\b(?:{REFERENCE_WORDS})\b)\s?(?:(?i:no\.?|number|num|nr|id)\s?|#)?[#:=]?\s?\d[\d_.,/-]*\d\b",
    # cloud account IDs: arn:aws:iam::123456789012:role/x, "AWS account 123456789012"
    r"\barn:[\w-]+:[^\s]*",
    r"(?i:\b(?:aws|gcp|azure|cloud|project|subscription|tenant|org|organization|account\s+id)\b)"
    r"[^\n\d]{0,24}\b\d{12}\b",
    # epoch times in s/ms/us/ns (2001-2033) and Slack message timestamps 1714580713.080459
    r"\b1\d{9}(?:\.\d{1,9})?\b",
    r"\b1[0-9]\d{11}\b",
    r"\b1[0-9]\d{14}\b",
    r"\b1[0-9]\d{17}\b",
    # decimal numbers (one dot): 16900.540, 3961.46; and the digits in order
    r"(?<![\d.])\d+\.\d+(?![\d.])",
    r"\b(?:0?123456789|1234567890)\b",
    r"\b\d{20,}\b",  # too long for any identifier here
    # file names, paths, URLs and identifiers with digits: foo_123456, /var/lib/123456
    r"\b\w*_\d[\w]*\b",
    r"(?<![\w/])(?:\.{0,2}/|~/|[A-Za-z][\w.-]*/)(?:[\w.-]+/)*[\w.-]*\d[\w.-]*",
    r"https?://\S+",
]
_NOISE = re.compile("|".join(f"(?:{p})" for p in NOISE_PATTERNS))


def noise_spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that hold digits but are never a phone, bank or NHS number."""
    return [m.span() for m in _NOISE.finditer(text) if m.end() > m.start()]


def overlaps_any(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)
