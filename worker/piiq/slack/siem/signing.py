"""The webhook's signature: HMAC-SHA256 over ``v1:TIMESTAMP:BODY`` with a shared secret.

The timestamp (Unix seconds) is sent in its own header and signed with the body, so a
receiver that refuses timestamps older than a few minutes cannot be fed a replayed
request. docs/audit.md gives the receiver's recipe; ``verify`` is that recipe.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Piiq-Timestamp"
SIGNATURE_HEADER = "X-Piiq-Signature"
VERSION = "v1"
# Receivers should refuse requests whose timestamp is further than this from their clock.
TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex digest>`` for ``body`` sent at ``timestamp``."""
    message = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_S,
) -> bool:
    """True when ``signature`` is ``body``'s at ``timestamp`` and the timestamp is recent."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
