from __future__ import annotations

import pytest

from piiq.detect import Detector


@pytest.fixture(scope="session")
def detector() -> Detector:
    """One detector for the session: loading the spaCy model takes seconds."""
    return Detector.create()


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it pass the Luhn check."""
    for check in range(10):
        digits = [int(c) for c in prefix + str(check)]
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        if total % 10 == 0:
            return prefix + str(check)
    raise AssertionError("unreachable")
