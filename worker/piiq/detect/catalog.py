"""The entity types the built-in analyzer reports (a light module: policy checks use it).

A policy or recognizer file naming a type outside these (and outside its custom
recognizers) is refused with the closest known type as a suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Presidio's predefined pattern recognizers piiq runs (cards and phones are piiq's own).
PRESIDIO_PATTERN_ENTITIES = (
    "US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_ITIN", "US_PASSPORT", "US_SSN", "UK_NHS",
    "CRYPTO", "DATE_TIME", "EMAIL_ADDRESS", "IP_ADDRESS", "MEDICAL_LICENSE",
    "MAC_ADDRESS", "UUID", "URL",
)  # fmt: skip
# National identity numbers with a check digit or strict format (off in Presidio's default).
NATIONAL_ID_ENTITIES = (
    "UK_NINO", "CA_SIN", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "PL_PESEL", "IN_AADHAAR", "AU_TFN",
)  # fmt: skip
OWN_ENTITIES = ("CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE")
NER_ENTITIES = ("PERSON", "LOCATION", "NRP")
BUILTIN_ENTITIES = frozenset(
    PRESIDIO_PATTERN_ENTITIES + NATIONAL_ID_ENTITIES + OWN_ENTITIES + NER_ENTITIES
)


def closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known name most like ``name`` (difflib), or None when none is close."""
    upper = {k.upper(): k for k in known}
    found = difflib.get_close_matches(name.upper(), list(upper), n=1, cutoff=cutoff)
    if found:
        return upper[found[0]]
    # EMAIL -> EMAIL_ADDRESS, SSN -> US_SSN: a whole part of one known name
    parts = [k for k in upper if name.upper() in k.split("_") or k.startswith(name.upper() + "_")]
    return upper[min(parts, key=len)] if parts and len(name) >= 3 else None


def unknown_type_message(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    guess = closest(name, known)
    if guess is not None:
        return f"{name}: did you mean {guess}?"
    return f"{name}: no such entity type (known: {', '.join(known)})"
