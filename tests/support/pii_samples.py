"""The personal data the end-to-end tests post, and the secrets they use: none may ever
appear in a log line (tests/conftest.py checks every line of the session)."""

from __future__ import annotations

from piiq import sandbox as sb
from tests.support.siem_receivers import HEC_TOKEN, WEBHOOK_SECRET

CARD = "4556 7375 8689 9855"  # Luhn-valid, not a well-known test card (those are allowed)
SSN = "536-22-1474"
PHONE = "212 736 4512"
EMAIL = "maria.gonzalez@acme-corp.com"

NEVER_LOGGED = (
    CARD,
    CARD.replace(" ", ""),
    SSN,
    PHONE,
    EMAIL,
    sb.BOT_TOKEN,
    sb.ADMIN_TOKEN,
    sb.APP_TOKEN,
    sb.SIGNING_SECRET,
    sb.CLIENT_SECRET,
    WEBHOOK_SECRET,
    HEC_TOKEN,
)


# Secrets made while the tests run (the tokens the sandbox's OAuth issues): checked too.
ISSUED: set[str] = set()


def never_log(*values: str) -> None:
    """Add secrets made at run time to what no log line of the session may carry."""
    ISSUED.update(values)


def leaks(lines: list[str]) -> list[str]:
    """The lines that contain any of ``NEVER_LOGGED`` or of the secrets issued since."""
    secrets = (*NEVER_LOGGED, *ISSUED)
    return [line for line in lines if any(value in line for value in secrets)]
