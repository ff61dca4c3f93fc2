"""Phone numbers, checked by libphonenumber's validity rules for the configured regions.

Candidates are runs of digit groups (``+46 (0)8 525 332 69``, ``020 7946 0958``,
``(212) 555-0147``, ``444 7846``); a run may hold several numbers, so windows of its groups
are tried, longest first. A candidate is a phone number when ``phonenumbers`` says it is
valid:

- international: written with ``+`` or ``00`` and valid for its country;
- national: valid for one of the configured regions *as written*: the digits must be the
  region's national format (with its trunk prefix, the leading 0 of most of Europe), so a
  bare build number does not become a German mobile number by an assumed prefix;
- possible: not valid (an unassigned range, a made-up number) but of a possible length for
  the country, as written; and local: too short to be valid but possible as a local number
  (``444 7846``): both only with a phone word nearby (``call me on``, ``mobile:``).

Scores: 0.75 with a phone word nearby ("phone", "call", "mobile", "reach" ...); else 0.4
when written as a phone number (groups, ``+`` or parentheses), 0.3 as one bare run of
digits. Local numbers without context are not reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

PHONE_CONTEXT = (
    "phone", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "call", "calls", "ring",
    "reach", "contact", "whatsapp", "signal", "sms", "text", "dial", "fax", "landline",
    "hotline", "ph", "number", "numbers", "tlf", "telefon", "telefono", "téléphone", "portable",
    "handy", "extension", "ext",
)  # fmt: skip
# Phone words strong enough to make a merely possible number a phone number.
STRONG_CONTEXT = (
    "phone", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "call", "ring",
    "whatsapp", "sms", "fax", "landline", "hotline", "dial", "reach", "contact", "ph",
    "tlf", "telefon", "telefono", "téléphone", "handy",
)  # fmt: skip
# A word among the few before a number that makes it some other identifier.
NOT_PHONE_WORDS = frozenset(
    {
        "passport", "ssn", "social", "nhs", "account", "acct", "iban", "card", "routing",
        "tax", "itin", "tin", "licence", "license", "policy", "member", "invoice", "order",
        "tracking", "serial", "ticket", "build", "version", "release", "port", "pid", "id",
        "uid", "commit", "sha", "hash", "checksum", "offset", "epoch", "timestamp", "bytes",
        "pesel", "aadhaar", "sin", "tfn", "nino", "nif", "nie", "sort", "swift", "bic",
    }
)  # fmt: skip

SCORE_CONTEXT = 0.75
SCORE_FORMATTED = 0.4
SCORE_BARE = 0.3
MIN_DIGITS = 7
MAX_DIGITS = 15

_RUN = re.compile(
    r"(?<![\w+.,/:=-])(?:\+\s?|\(\+?)?\d[\d()]*(?:(?:[ .\-/\u00a0]|\s?[()]\s?)\(?\d[\d()]*\)?)*"
    r"(?:\s?(?:x|ext\.?|extn\.?|#)\s?\d{1,6})?(?![\w]|[.,/:-]\d)"
)
_GROUP = re.compile(r"\+?\(?\+?\d+\)?")
_DIGITS = re.compile(r"\D")
_EXTENSION = re.compile(r"\s?(?:x|ext|#)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    start: int
    end: int
    kind: str  # "international", "national" (both valid), "possible", "local"
    formatted: bool  # written in groups, with + or parentheses


def digits_of(text: str) -> str:
    return _DIGITS.sub("", text)


VALID = frozenset({"international", "national"})


@lru_cache(maxsize=4096)
def classify(candidate: str, regions: tuple[str, ...]) -> str | None:
    """ "international" or "national" (valid), "possible", "local", or None."""
    digits = digits_of(candidate)
    number_digits = digits_of(_EXTENSION.split(candidate, maxsplit=1)[0])
    if not MIN_DIGITS <= len(number_digits) <= MAX_DIGITS:
        return None
    if "/" in candidate and not ("+" in candidate or candidate.lstrip("(").startswith("0")):
        return None  # 7568/10000 is a fraction; 030/1234567 a Berlin number
    stripped = candidate.lstrip("(")
    if stripped.startswith("+") or digits.startswith("00"):
        number = _parse("+" + digits[2:] if not stripped.startswith("+") else candidate, None)
        if number is None:
            return None
        if phonenumbers.is_valid_number(number):
            return "international"
        return "possible" if phonenumbers.is_possible_number(number) else None
    weaker = None
    for region in regions:
        number = _parse(candidate, region)
        if number is None:
            continue
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
            if weaker is None and len(digits) in (7, 8):
                weaker = "local"
            continue
        if reason != ValidationResult.IS_POSSIBLE or not _as_written(number, digits, region):
            continue
        if phonenumbers.is_valid_number(number):
            return "national"
        weaker = "possible"
    return weaker


def _parse(candidate: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None


def _as_written(number: phonenumbers.PhoneNumber, digits: str, region: str) -> bool:
    national = digits_of(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    if digits == national:
        return True
    prefix = _national_prefix(region)
    return bool(prefix) and digits == prefix + str(number.national_number)


@cache
def _national_prefix(region: str) -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (metadata.national_prefix or "") if metadata is not None else ""


def find_phones(text: str, regions: Sequence[str]) -> list[PhoneMatch]:
    regions = tuple(regions)
    found: list[PhoneMatch] = []
    for run in _RUN.finditer(text):
        body = run.group()
        if len(digits_of(body)) < MIN_DIGITS:
            continue
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(body)]
        i = 0
        while i < len(groups):
            match = _longest_from(text, groups, i, regions)
            if match is None:
                break  # no number starts here: none starts inside this one either
            if not (i == 0 and match[1] == len(groups) - 1) and not _stands_alone(text, match[0]):
                break  # part of a longer run of digits (a broken card number, a table row)
            found.append(match[0])
            i = match[1] + 1
    return found


def _stands_alone(text: str, match: PhoneMatch) -> bool:
    """Whether a number that shares its run of digits with others is written as a whole
    phone number (020 7946 0958 020 7946 0959): 10+ digits, or a +, 0 or ( in front."""
    candidate = text[match.start : match.end]
    return len(digits_of(candidate)) >= 10 or candidate[0] in "+0("


def _longest_from(
    text: str, groups: list[tuple[int, int]], i: int, regions: tuple[str, ...]
) -> tuple[PhoneMatch, int] | None:
    ends = []
    digits = 0
    for j in range(i, min(len(groups), i + 8)):
        digits += len(digits_of(text[groups[j][0] : groups[j][1]]))
        if digits > MAX_DIGITS + 2:
            break
        if digits >= MIN_DIGITS:
            ends.append(j)
    fallback: tuple[PhoneMatch, int] | None = None
    if text[groups[i][0] : groups[i][1]] == "0":
        return None  # a lone 0 starts a column of numbers, not a phone number
    for j in reversed(ends):
        start, end = groups[i][0], groups[j][1]
        candidate = text[start:end]
        if candidate.endswith(")") and candidate.count(")") > candidate.count("("):
            end -= 1  # f(1197346475): the parenthesis closes a call
            candidate = candidate[:-1]
        kind = classify(candidate, regions)
        if kind is None:
            continue
        formatted = j > i or candidate[0] in "+(" or "(" in candidate
        match = PhoneMatch(start, end, kind, formatted), j
        if kind in VALID:
            return match  # the longest valid number
        whole = i == 0 and j == len(groups) - 1
        if whole and not (kind == "local" and digits_of(candidate)[0] in "01"):
            fallback = fallback or match  # else the whole run if possible as written
    return fallback
