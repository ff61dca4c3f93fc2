"""The Block Kit piiq posts for reviews: the tombstone, the admins' review message, the
author's DM buttons, the "Not personal data" modal, a false-positive report, and what each
becomes once decided. Pure: dicts in, dicts out. Types are named, values never."""

from __future__ import annotations

from typing import Any

# action_id of each button (and the modal's callback_id): what the interaction worker does.
RELEASE = "piiq_release"
DELETE = "piiq_delete"
FALSE_POSITIVE = "piiq_false_positive"  # an admin: not personal data (allow-list, release)
REJECT_REPORT = "piiq_keep_flagged"  # an admin: the report is wrong, it is personal data
NOT_PII = "piiq_not_pii"  # the author: opens the modal
REMOVED = "piiq_removed"  # the author: "I removed it"
NOT_PII_MODAL = "piiq_not_pii_report"  # the modal's callback_id
EXPIRED = "piiq_expired"  # not a button: the retention job's per-item update
JUSTIFICATION_BLOCK, JUSTIFICATION_INPUT = "justification", "text"

TOMBSTONE = ":lock: A message was held for review by piiq (it may contain personal data)."


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, item_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": str(item_id),
    }
    if style:
        button["style"] = style
    return button


def _actions(item_id: int, *buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": f"piiq_item_{item_id}", "elements": list(buttons)}


def posted_at(ts: str) -> str:
    """A message time as Slack shows it in the reader's time zone."""
    seconds = ts.partition(".")[0]
    return f"<!date^{seconds}^{{date_short_pretty}} {{time}}|{seconds}>"


def where(item: dict[str, Any]) -> str:
    return f"by <@{item['user_id']}> in <#{item['channel']}>, posted {posted_at(item['ts'])}"


def held_kind(item: dict[str, Any]) -> str:
    """What is held: "a file" (its bytes are kept) or "a message"."""
    return "a file" if item.get("file_bytes") is not None else "a message"


def review_message(item: dict[str, Any], found: str) -> tuple[str, list[dict[str, Any]]]:
    """The admins' message for a held item: what was found, whose, where, when; buttons."""
    kind = held_kind(item)
    text = f"Held for review: {kind} {where(item)}. It contains {found}."
    blocks = [
        _section(f":lock: *Held for review*: {kind} {where(item)}.\nIt contains {found}."),
        _actions(
            item["id"],
            _button("Release", RELEASE, item["id"], "primary"),
            _button("Delete", DELETE, item["id"], "danger"),
            _button("Mark false positive", FALSE_POSITIVE, item["id"]),
        ),
        context(
            f"The {'file' if kind == 'a file' else 'text'} is kept encrypted until someone "
            "decides or the retention ends."
        ),
    ]
    return text, blocks


def report_message(
    item: dict[str, Any], found: str, justification: str
) -> tuple[str, list[dict[str, Any]]]:
    """A false-positive report from the author, for the admins to rule on."""
    text = f"<@{item['user_id']}> says a message flagged for {found} is not personal data."
    said = justification.strip()
    blocks = [
        _section(
            f":speech_balloon: <@{item['user_id']}> says the message flagged for {found} "
            f"({where(item)}) is *not personal data*."
        ),
    ]
    if said:
        blocks.append(_section(">>> " + said[:2500]))
    blocks.append(
        _actions(
            item["id"],
            _button("Not personal data: allow it", FALSE_POSITIVE, item["id"], "primary"),
            _button("It is personal data", REJECT_REPORT, item["id"]),
        )
    )
    return text, blocks


def decided(text: str) -> list[dict[str, Any]]:
    """A review or report message once decided: the outcome, no buttons left."""
    return [_section(text)]


def author_buttons(notice: str, item_id: int) -> list[dict[str, Any]]:
    """The author's DM: the notice, then "Not personal data" and "I removed it"."""
    return [
        _section(notice[:3000]),
        _actions(
            item_id,
            _button("Not personal data", NOT_PII, item_id),
            _button("I removed it", REMOVED, item_id),
        ),
    ]


def justification_modal(item_id: int) -> dict[str, Any]:
    """views.open's view: an optional justification; private_metadata is the item id."""
    return {
        "type": "modal",
        "callback_id": NOT_PII_MODAL,
        "private_metadata": str(item_id),
        "title": {"type": "plain_text", "text": "Not personal data"},
        "submit": {"type": "plain_text", "text": "Send to admins"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": JUSTIFICATION_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Why is it not personal data?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": JUSTIFICATION_INPUT,
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }
