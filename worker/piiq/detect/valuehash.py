"""A matched value as a keyed hash, for allow-lists that must not hold the value in clear.

HMAC-SHA-256 under a secret key: a plain hash of a 9-digit SSN or a card number is undone
by trying every candidate, a keyed one is not without the key. The value is normalised
first (case, spaces, dashes and dots between digits), so "4556 7375 8689 9855" and
"4556-7375-8689-9855" hash alike. The result names its key id ("kid:hex"), so entries
made under a rotated-out key are simply not matched, never mismatched.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_SEPARATORS = re.compile(r"(?<=\d)[\s.\-/]+(?=\d)|\s+")


def normalise(value: str) -> str:
    """Case-folded, without spaces and without separators between digits."""
    return _SEPARATORS.sub("", value.strip()).casefold()


def value_hash(value: str, key_id: str, key: bytes) -> str:
    digest = hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()
    return f"{key_id}:{digest}"
