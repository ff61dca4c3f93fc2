"""`make demo`'s terminal output: one line per message in an 80-column terminal, decisions
in colour, channel and people names where Slack shows them."""

from __future__ import annotations

import io

from rich.console import Console

from piiq.commands.demo import Post, _table, slack_markup_for_terminal


def render(posts: list[Post], width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=True, color_system="standard").print(
        _table(posts)
    )
    return out.getvalue().splitlines()


def posts() -> list[Post]:
    card = Post("card", "U0BOB", "my card is 4556 7375 8689 9855, exp 04/28 - book it?", "delete")
    card.status, card.decision, card.action = (
        200,
        "delete: CREDIT_CARD x1",
        "deleted; author notified",
    )
    hello = Post("hi", "U0ALICE", "morning all! standup moved to 10:30", "allow")
    hello.status, hello.decision, hello.action = 200, "allow", "-"
    phone = Post("phone", "U0BOB", "lunch at 1? 212 736 4512 otherwise", "warn")
    phone.status, phone.decision, phone.action = 200, "warn: PHONE_NUMBER x1", "author notified"
    return [card, hello, phone]


def test_every_message_is_one_line_at_80_columns() -> None:
    lines = render(posts(), 80)
    rows = [line for line in lines if "bob" in line or "alice" in line]
    assert len(rows) == 3  # no wrapped rows
    assert all(len(_plain(line)) <= 80 for line in lines)
    assert "delete CREDIT_CARD" in _plain(rows[0])
    assert "deleted, DMed" in _plain(rows[0])


def test_decisions_are_coloured() -> None:
    text = "\n".join(render(posts(), 100))
    assert "\x1b[1;31mdelete" in text  # bold red
    assert "\x1b[32mallow" in text  # green
    assert "\x1b[33mwarn" in text  # yellow


def test_dms_show_channel_and_people_names() -> None:
    text = "I removed your message in <#C0GENERAL> for <@U0BOB>; see <#C0OTHER|random>"
    shown = slack_markup_for_terminal(text, {"C0GENERAL": "general"}, {"U0BOB": "bob"})
    assert shown == "I removed your message in #general for @bob; see #random"


def _plain(line: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", line)
