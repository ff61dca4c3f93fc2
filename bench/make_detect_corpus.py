"""Build bench/data/detect_corpus.jsonl: labelled Slack-like messages for detection benches.

    .venv/bin/python bench/make_detect_corpus.py      # deterministic (seeded)

Two kinds of lines, written for this project (not Presidio's examples):
- ordinary engineering chat, which the policy must not delete (file names, tools,
  versions, IPs, UUIDs, SHAs, dates, URLs, @-mentions and the words NER gets wrong);
- messages with personal data, each labelled with its spans (type, start, end) and the
  action we expect (delete or warn).
Each line: {"text", "kind": "clean"|"pii", "expected": "allow"|"warn"|"delete", "spans"}.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

OUT = Path(__file__).parent / "data" / "detect_corpus.jsonl"
rng = random.Random(20261128)

TOOLS = [
    "JSON",
    "YAML",
    "Travis-ci",
    "Jenkins",
    "Postgres",
    "Redis",
    "Kafka",
    "Helm",
    "kubectl",
    "Terraform",
    "Grafana",
    "Sentry",
    "Docker",
    "GitHub Actions",
    "pytest",
    "mypy",
    "ruff",
    "Celery",
    "nginx",
    "Envoy",
    "ArgoCD",
    "Vault",
    "Prometheus",
    "Loki",
    "Tempo",
    "gRPC",
    "GraphQL",
    "webpack",
    "Vite",
    "React",
    "Django",
    "FastAPI",
    "SQLAlchemy",
    "Alembic",
]
FILES = [
    "app.py",
    "main.go",
    "config.yaml",
    "Dockerfile",
    "values.yaml",
    "package.json",
    "settings.py",
    "README.md",
    "Makefile",
    "index.ts",
    "schema.sql",
    "conftest.py",
]
SERVICES = ["billing", "auth", "search", "ingest", "gateway", "notifier", "ledger", "scheduler"]
VERBS = [
    "fails",
    "times out",
    "crashes",
    "hangs",
    "flakes",
    "passes again",
    "is slow",
    "leaks memory",
]
PEOPLE = [
    "Maria Garcia",
    "John Smith",
    "Aisha Khan",
    "Wei Zhang",
    "Olga Petrova",
    "Liam O'Brien",
    "Fatima Haddad",
    "Kenji Watanabe",
    "Sofia Rossi",
    "David Cohen",
    "Priya Nair",
    "Lucas Silva",
]


def clean_message() -> str:
    t, f, s, v = rng.choice(TOOLS), rng.choice(FILES), rng.choice(SERVICES), rng.choice(VERBS)
    n = rng.randint(2, 9999)
    sha = "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([7, 12, 40])))
    templates = [
        f"{t} build {v} again on {f}, see PR #{n}",
        f"deploying {s} v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)} to staging now",
        f"anyone else seeing 502s from {s}? started around {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} UTC",
        f"the {t} parser in {f} {v} when the payload is over {n} KB",
        f"<@U{rng.randint(10**7, 10**8)}> can you review {sha}? it touches {f}",
        f"rolled back {s} to {sha}, {t} was throwing on startup",
        f"{s} p99 went from {rng.randint(20, 90)}ms to {rng.randint(100, 900)}ms after the {t} upgrade",
        f"restarting {s} pods on 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}, back in 5",
        f"ticket {s.upper()}-{n} is blocked on the {t} migration",
        f"lgtm :+1: ship it once {t} is green",
        f"postmortem for the {s} outage is in <https://wiki.acme.io/pm/{n}|the wiki>",
        f"run `make test` before pushing, {f} changed",
        f"uuid {rng.getrandbits(128):032x} keeps showing up in the {s} logs",
        f"standup moved to 10:30 tomorrow, {t} workshop after",
        f"who owns {s}? the runbook says #team-{s}",
        f"bumped {t} to {rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)} in {f}",
        f"cache hit rate on {s} dropped to {rng.randint(40, 95)}% since Friday",
        f"<!here> {s} is read-only for {rng.randint(5, 45)} minutes while we vacuum",
        f"can we pin {t}? {f} broke on the latest release",
        f"the flaky test is test_{s}_{v.split()[0]} in {f}",
        f"merged, thanks! {t} config lives in {f} now",
        f"port {rng.choice([5432, 6379, 8080, 9090, 443])} is closed on the {s} box",
        f"error E{n:04d} from {t}: connection reset by peer",
        f"queue depth for {s} is {n}, workers are catching up",
        f"do we still need the {s} feature flag? it's been at 100% for a month",
        f"Release notes for {rng.randint(2024, 2027)}.{rng.randint(1, 52)} are up, {t} and {s} changes",
        f"Travis-ci and {t} both {v} on the arm runners",
        f"see https://docs.acme.io/{s}/{f} for the new flags",
        f"benchmarks: {rng.randint(1000, 9000)} req/s on {s} with {t}, {rng.randint(2, 64)} workers",
        f"k8s node pool scaled to {rng.randint(3, 40)} nodes for the {s} backfill",
    ]
    return rng.choice(templates)


def luhn_complete(prefix: str) -> str:
    for check in range(10):
        digits = [int(c) for c in prefix + str(check)]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
            for i, d in enumerate(reversed(digits))
        )
        if total % 10 == 0:
            return prefix + str(check)
    raise AssertionError


def card() -> str:
    prefix = rng.choice(["4", "51", "52", "53", "54", "55", "2221", "2720", "6011"])
    number = luhn_complete(
        prefix + "".join(str(rng.randint(0, 9)) for _ in range(15 - len(prefix)))
    )
    return rng.choice(
        [
            number,
            " ".join(number[i : i + 4] for i in range(0, 16, 4)),
            "-".join(number[i : i + 4] for i in range(0, 16, 4)),
        ]
    )


def ssn() -> str:
    return f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"


def email(name: str) -> str:
    first, _, last = name.lower().replace("'", "").partition(" ")
    return f"{first}.{last}@{rng.choice(['acme.io', 'gmail.com', 'corp.example.co.uk', 'mailbox.org'])}"


def phone() -> str:
    return rng.choice(
        [
            f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
            f"+44 20 7946 {rng.randint(1000, 9999)}",
            f"+49 30 {rng.randint(1000000, 9999999)}",
            f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        ]
    )


def iban() -> str:
    return rng.choice(
        [
            "GB82 WEST 1234 5698 7654 32",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91 ABNA 0417 1643 00",
        ]
    )


def pii_message() -> tuple[str, list[tuple[str, str]], str]:
    """A message with personal data: (text with {0}, {1} slots, [(type, value)], expected)."""
    name = rng.choice(PEOPLE)
    choices = [
        ("my card is {0}, can you update billing?", [("CREDIT_CARD", card())], "delete"),
        ("refund to card {0} please", [("CREDIT_CARD", card())], "delete"),
        ("customer ssn is {0}, verify before onboarding", [("US_SSN", ssn())], "delete"),
        ("SSN: {0} (from the HR form)", [("US_SSN", ssn())], "delete"),
        ("wire it to IBAN {0}", [("IBAN_CODE", iban())], "delete"),
        ("reach her at {0} about the contract", [("EMAIL_ADDRESS", email(name))], "delete"),
        ("<mailto:{0*}|{0}> asked for a copy", [("EMAIL_ADDRESS", email(name))], "delete"),
        ("{0}: {1}", [("PERSON", name), ("EMAIL_ADDRESS", email(name))], "delete"),
        ("{0}'s mobile is {1}", [("PERSON", name), ("PHONE_NUMBER", phone())], "delete"),
        ("my phone number is {0}", [("PHONE_NUMBER", phone())], "delete"),
        ("call {0} tomorrow", [("PHONE_NUMBER", phone())], "warn"),
        ("new hire {0}, ssn {1}, start Monday", [("PERSON", name), ("US_SSN", ssn())], "delete"),
        (
            "bank account number {0} for payroll",
            [("US_BANK_NUMBER", str(rng.randint(10**9, 10**12)))],
            "delete",
        ),
    ]
    template, values, expected = rng.choice(choices)
    return template, values, expected


def fill(template: str, values: list[tuple[str, str]]) -> tuple[str, list[dict[str, object]]]:
    text, spans = "", []
    for part in re.split(r"(\{\d\*?\})", template):
        if re.fullmatch(r"\{\d\*?\}", part):
            entity, value = values[int(part[1])]
            if not part.endswith("*}"):  # {0*}: a link target Slack does not show; not labelled
                spans.append({"type": entity, "start": len(text), "end": len(text) + len(value)})
            text += value
        else:
            text += part
    return text, spans


def main() -> None:
    lines = []
    for _ in range(800):
        lines.append({"text": clean_message(), "kind": "clean", "expected": "allow", "spans": []})
    for _ in range(400):
        template, values, expected = pii_message()
        text, spans = fill(template, values)
        lines.append({"text": text, "kind": "pii", "expected": expected, "spans": spans})
    rng.shuffle(lines)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("".join(json.dumps(line) + "\n" for line in lines))
    print(f"wrote {len(lines)} messages to {OUT}")


if __name__ == "__main__":
    main()
