"""What piiq tells people: the DM to an author and the alert to the admin channel.

Notices name the kinds of data found, never the values; a DM carries the author's text
with those values replaced by ``<TYPE>``, so they can post it again safely.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..detect import Decision

_NAMES = {
    "CREDIT_CARD": "a payment card number",
    "US_SSN": "a US Social Security number",
    "US_ITIN": "a US taxpayer ID",
    "US_PASSPORT": "a passport number",
    "US_BANK_NUMBER": "a bank account number",
    "US_DRIVER_LICENSE": "a driver's license number",
    "IBAN_CODE": "an IBAN",
    "EMAIL_ADDRESS": "an email address",
    "PHONE_NUMBER": "a phone number",
    "PERSON": "a person's name",
    "LOCATION": "a place",
    "IP_ADDRESS": "an IP address",
    "UK_NHS": "an NHS number",
    "CRYPTO": "a crypto wallet address",
}


def describe_types(found: Decision | Iterable[str]) -> str:
    """'a payment card number and an email address' for the types a decision rests on
    (or the types given)."""
    types = found.entity_counts if isinstance(found, Decision) else found
    names = [_NAMES.get(t, t.replace("_", " ").lower()) for t in types]
    if len(names) <= 1:
        return names[0] if names else "personal data"
    return ", ".join(names[:-1]) + " and " + names[-1]


def author_notice(
    *,
    subject: str,
    channel: str,
    decision: Decision,
    deleted: bool,
    redacted: str | None,
    unread: str | None = None,
) -> str:
    """The DM to the author. ``subject`` is "your message" or "the file report.pdf you shared".
    ``unread`` says why a file could not be (fully) checked, when it could not."""
    if unread is not None:
        return unread_notice(subject=subject, channel=channel, decision=decision,
                             deleted=deleted, why=unread)  # fmt: skip
    found = describe_types(decision)
    where = f"<#{channel}>"
    if decision.action == "warn":
        text = (
            f"Heads-up: {subject} in {where} may contain {found}. "
            "If you did not mean to share it, please edit or delete it."
        )
    elif deleted and decision.action == "quarantine":
        text = (
            f"I held {subject} in {where} for review because it may contain {found}: it is "
            "out of the channel, kept encrypted, until an admin releases or deletes it."
        )
    elif deleted:
        text = f"I removed {subject} in {where} because it contained {found}."
    else:
        text = (
            f"{subject[0].upper()}{subject[1:]} in {where} contains {found}, and I could not "
            "remove it. Please delete it yourself."
        )
    if redacted and decision.action == "delete":
        text += "\nHere is a copy with that data taken out, so you can post it again:\n>>> "
        text += redacted
    return text


def unread_notice(
    *, subject: str, channel: str, decision: Decision, deleted: bool, why: str
) -> str:
    """A file piiq could not check: what it is, why, and what happened to it."""
    where = f"<#{channel}>"
    text = f"I could not check {subject} in {where} for personal data ({why})."
    if decision.action == "delete" and deleted:
        text += " Files I cannot check are removed here, so I removed it."
        text += " Please share it in a form I can read (not password-protected, within the limits)."
    elif decision.action == "delete":
        text += " Files I cannot check are removed here, but I could not remove it: "
        text += "please delete it yourself unless you are sure it holds no personal data."
    else:
        text += " It stays up: if it holds personal data (card, ID or account numbers, "
        text += "contact details), please delete it."
    if decision.reasons:
        text += f" The part I could read may contain {describe_types(decision)}."
    return text


def admin_alert(
    *,
    subject: str,
    user: str,
    channel: str,
    ts: str,
    decision: Decision,
    why: str,
    unread: str | None = None,
    deleted: bool = False,
) -> str:
    """To the admin channel: a deletion that failed, a file piiq could not check, or a
    file kept while its share was removed (``why`` says which)."""
    where = f"{subject} by <@{user}> in <#{channel}> (ts {ts})"
    if unread is not None:
        done = "removed it" if deleted else "left it in place"
        text = f"piiq could not check {where} for personal data ({unread}) and {done}"
        return text + (f"; {why}" if why else "") + ". The author was notified."
    if deleted:
        return (
            f"piiq removed {where}, which contains {describe_types(decision)}; {why}. "
            "The author was notified."
        )
    return (
        f"piiq could not delete {where}, which "
        f"contains {describe_types(decision)}: {why}. The author was notified."
    )
