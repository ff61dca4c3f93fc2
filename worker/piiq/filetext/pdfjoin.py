"""Numbers that a PDF line break split, joined again."""

from __future__ import annotations

import re

_WRAPPED = re.compile(r"(\d+)[ \t]*\n[ \t]*(\d+)")


def join_wrapped_digits(text: str) -> str:
    """Rejoin a number that a PDF line break split: "card 4\\n539 1488 ..." -> "card 4539 1488".

    A short run on either side of the break (under 4 digits) was cut mid-group and is
    glued back; two full groups are joined by a space, as a card number is written.
    """

    def join(m: re.Match[str]) -> str:
        left, right = m.group(1), m.group(2)
        glue = "" if len(left) < 4 or len(right) < 4 else " "
        return left + glue + right

    return _WRAPPED.sub(join, text)
