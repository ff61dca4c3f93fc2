"""The pattern stage: every regex, checksum and phone-validity recognizer, with no NLP.

Runs on every text. Presidio's predefined pattern recognizers (email, IBAN, SSN, ...)
and custom YAML ones are called directly (their regex, validation and invalidation), our
card (``cards``) and phone (``phones``) recognizers replace Presidio's, and then:

1. context: a recognizer's context words near a match add 0.35 (at least 0.4), as
   Presidio does, but on plain words (``context``), so "call" and "name" count too;
2. noise: digit-based types drop matches inside IPs, dates, versions, ticket numbers and
   the other ``context.noise_spans``; bank numbers near cloud words are no bank numbers;
3. types that need context (UK_NHS: about one 10-digit number in eleven passes its
   checksum) stay low without it;
4. one span, one type (``resolve``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from presidio_analyzer import EntityRecognizer

from .cards import CARD_CONTEXT, find_cards
from .context import Words, matches, noise_spans, overlaps_any, vocabulary
from .ibans import find_ibans
from .phones import (
    NOT_PHONE_WORDS,
    PHONE_CONTEXT,
    SCORE_BARE,
    SCORE_CONTEXT,
    SCORE_FORMATTED,
    STRONG_CONTEXT,
    VALID,
    find_phones,
)
from .resolve import Hit, resolve

CONTEXT_BOOST = 0.35
CONTEXT_MIN = 0.4

# Context words per type, replacing Presidio's where theirs are noisy ("us", "check",
# "save", "travel", "document" occur in any chat).
CONTEXT = {
    "CREDIT_CARD": CARD_CONTEXT,
    "PHONE_NUMBER": PHONE_CONTEXT,
    "US_SSN": ("ssn", "ssns", "social security", "ss#", "ssid"),
    "US_ITIN": ("itin", "taxpayer", "tax id", "tin"),
    "US_BANK_NUMBER": (
        "bank", "banking", "account", "acct", "checking", "savings", "deposit", "routing", "aba",
        "wire", "ach", "beneficiary",
    ),
    "US_PASSPORT": ("passport", "passports", "passport#"),
    "UK_NHS": ("nhs", "national health service", "health", "patient"),
    "IBAN_CODE": ("iban", "bank", "account", "transfer", "sepa", "wire", "payment"),
    "EMAIL_ADDRESS": ("email", "e-mail", "mail", "address"),
}  # fmt: skip
# Words near a match that make it something else.
NOT_CONTEXT = {
    "US_BANK_NUMBER": frozenset(
        {"aws", "gcp", "azure", "cloud", "arn", "project", "subscription", "tenant", "org",
         "organization", "id", "iam", "service", "github", "slack", "google", "workspace",
         "billing", "user", "customer", "twitter", "stripe"}
    ),
    "PHONE_NUMBER": NOT_PHONE_WORDS,
    "US_PASSPORT": frozenset({"build", "ticket", "order", "invoice", "id", "version"}),
}  # fmt: skip
# Types of digits alone: a match overlapping an IP, a date, a version ... is dropped.
DIGIT_TYPES = frozenset(
    {"PHONE_NUMBER", "US_BANK_NUMBER", "UK_NHS", "US_PASSPORT", "PL_PESEL", "IN_AADHAAR",
     "AU_TFN", "CA_SIN", "US_DRIVER_LICENSE", "MEDICAL_LICENSE"}
)  # fmt: skip
# Without context these stay at this score at most (checksum alone is too weak).
NO_CONTEXT_CAP = {"UK_NHS": 0.3}
# With context these reach at least this score (a 9-digit SSN after "ssn" is an SSN).
CONTEXT_FLOOR = {"US_SSN": 0.6, "US_ITIN": 0.6}
# Quick gates: a recognizer of these types cannot match a text without these characters.
NEEDS = {"EMAIL_ADDRESS": "@"}
MIN_DIGITS = {"CREDIT_CARD": 12, "PHONE_NUMBER": 7, "IBAN_CODE": 4}
OWN = frozenset({"CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE"})  # Presidio's are not used


class PatternStage:
    def __init__(
        self,
        recognizers: Iterable[EntityRecognizer],
        *,
        phone_regions: Sequence[str],
        context: dict[str, Sequence[str]] | None = None,
    ) -> None:
        self.recognizers: dict[str, list[EntityRecognizer]] = {}
        self.context: dict[str, frozenset[str]] = {}
        for recognizer in recognizers:
            for entity in recognizer.supported_entities:
                self.recognizers.setdefault(entity, []).append(recognizer)
                words = CONTEXT.get(entity) or getattr(recognizer, "context", None) or ()
                self.context[entity] = self.context.get(entity, frozenset()) | vocabulary(words)
        for entity, words in {**CONTEXT, **(context or {})}.items():
            self.context[entity] = self.context.get(entity, frozenset()) | vocabulary(words)
        self.phone_regions = tuple(phone_regions)
        self.not_context = {k: frozenset(v) for k, v in NOT_CONTEXT.items()}
        self.strong_phone_context = vocabulary(STRONG_CONTEXT)

    @property
    def supported_entities(self) -> frozenset[str]:
        return frozenset(self.recognizers) | OWN

    def analyze(self, text: str, entities: Iterable[str]) -> list[Hit]:
        """The resolved hits of ``entities`` in ``text``."""
        wanted = set(entities)
        digits = sum(c.isdigit() for c in text)
        words = Words.of(text)
        noise = noise_spans(text) if digits else []
        hits: list[Hit] = []
        if "CREDIT_CARD" in wanted and digits >= MIN_DIGITS["CREDIT_CARD"]:
            for card in find_cards(text):
                hits.append(self._scored("CREDIT_CARD", card.start, card.end, card.score, words))
        if "PHONE_NUMBER" in wanted and digits >= MIN_DIGITS["PHONE_NUMBER"]:
            hits.extend(self._phones(text, words))
        if "IBAN_CODE" in wanted and digits >= MIN_DIGITS["IBAN_CODE"]:
            for iban in find_ibans(text):
                hits.append(self._scored("IBAN_CODE", iban.start, iban.end, 1.0, words))
        for entity in wanted - OWN:
            gate = NEEDS.get(entity)
            if gate is not None and gate not in text:
                continue
            for recognizer in self.recognizers.get(entity, ()):
                # Pattern recognizers need no NLP artifacts (Presidio types the argument
                # as required, but PatternRecognizer.analyze takes None).
                for r in recognizer.analyze(text, [entity], None):  # type: ignore[arg-type]
                    if r.entity_type in wanted:
                        hits.append(
                            self._scored(r.entity_type, r.start, r.end, float(r.score), words)
                        )
        kept = []
        for hit in hits:
            if (
                hit.entity_type in DIGIT_TYPES
                and overlaps_any(hit.start, hit.end, noise)
                and not text.startswith("+", hit.start)  # +687 20.12.34 is a phone number
            ):
                continue
            if self._contradicted(hit, text, words):
                continue
            kept.append(hit)
        return resolve(kept)

    def _has_context(self, entity: str, start: int, end: int, words: Words) -> bool:
        vocabulary_ = self.context.get(entity)
        return bool(vocabulary_ and matches(words.around(start, end), vocabulary_))

    def _contradicted(self, hit: Hit, text: str, words: Words) -> bool:
        negative = self.not_context.get(hit.entity_type)
        return bool(negative and negative & set(words.leading(text, hit.start)))

    def _scored(self, entity: str, start: int, end: int, score: float, words: Words) -> Hit:
        context = self._has_context(entity, start, end, words)
        if context:
            score = min(1.0, max(score + CONTEXT_BOOST, CONTEXT_MIN, CONTEXT_FLOOR.get(entity, 0)))
        elif entity in NO_CONTEXT_CAP:
            score = min(score, NO_CONTEXT_CAP[entity])
        return Hit(entity, start, end, score, context)

    def _phones(self, text: str, words: Words) -> list[Hit]:
        hits = []
        for phone in find_phones(text, self.phone_regions):
            if phone.kind not in VALID:
                # "444 7846", a made-up number: a phone number only when the words say so
                if not matches(words.around(phone.start, phone.end), self.strong_phone_context):
                    continue
                score, context = SCORE_CONTEXT, True
            elif self._has_context("PHONE_NUMBER", phone.start, phone.end, words):
                score, context = SCORE_CONTEXT, True
            else:
                score = SCORE_FORMATTED if phone.formatted else SCORE_BARE
                context = False
            hits.append(Hit("PHONE_NUMBER", phone.start, phone.end, score, context))
        return hits
