"""Slack's side of the Events API: an event envelope, signed with the app's signing secret,
POSTed to an ingress URL (with Slack's retry headers when it is a retry)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "sandbox-signing-secret"


class EventDelivery:
    def __init__(self, signing_secret: str = SIGNING_SECRET) -> None:
        self.verifier = SignatureVerifier(signing_secret)

    def signed_headers(
        self, body: bytes, timestamp: int | None = None, content_type: str = "application/json"
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.verifier.generate_signature(timestamp=stamp, body=body)
        assert signature is not None  # None only without a timestamp
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }

    def deliver(
        self, url: str, envelope: dict[str, Any], *, retry_num: int | None = None
    ) -> tuple[int, bytes]:
        """POST ``envelope``, signed, to an Events API endpoint; returns (status, body)."""
        body = json.dumps(envelope).encode()
        headers = self.signed_headers(body)
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return post(url, body, headers)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``body``; returns (status, body), an HTTP error's too."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
