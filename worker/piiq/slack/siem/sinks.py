"""Where audit events go, from the settings: a signed JSON webhook and Splunk HEC.

A sink turns events into one HTTP request; it holds its secret but never shows it (no
repr, no log line, no job args: a delivery job names the sink, the worker brings the
secret from its own environment).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import SecretStr

from ...runtime.settings import Settings
from . import signing
from .events import epoch_seconds

WEBHOOK = "webhook"
SPLUNK = "splunk"
HEC_EVENT_PATH = "/services/collector/event"


class SinkConfigError(ValueError):
    """A sink is half configured (a URL without its secret): one line naming the setting."""


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)


class Sink(Protocol):
    @property
    def name(self) -> str: ...

    def request(self, events: Sequence[dict[str, Any]]) -> Request: ...


@dataclass(frozen=True, slots=True)
class WebhookSink:
    """``{"events": [...]}`` as JSON, signed (``signing``)."""

    url: str
    secret: str = field(repr=False)
    name: str = WEBHOOK

    def request(self, events: Sequence[dict[str, Any]], *, now: int | None = None) -> Request:
        body = json.dumps({"events": list(events)}, separators=(",", ":")).encode()
        timestamp = int(time.time()) if now is None else now
        headers = {
            "Content-Type": "application/json",
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.sign(self.secret, timestamp, body),
        }
        return Request(self.url, headers, body)


@dataclass(frozen=True, slots=True)
class SplunkHecSink:
    """HEC's JSON event protocol: one envelope per event, envelopes concatenated."""

    url: str
    token: str = field(repr=False)
    source: str = "piiq"
    sourcetype: str = "piiq:audit"
    index: str | None = None
    host: str = field(default_factory=socket.gethostname)
    name: str = SPLUNK

    def envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "time": epoch_seconds(event),
            "host": self.host,
            "source": self.source,
            "sourcetype": self.sourcetype,
        }
        if self.index:
            meta["index"] = self.index
        return {**meta, "event": event}

    def request(self, events: Sequence[dict[str, Any]]) -> Request:
        body = "\n".join(json.dumps(self.envelope(e), separators=(",", ":")) for e in events)
        headers = {"Authorization": f"Splunk {self.token}", "Content-Type": "application/json"}
        return Request(self.url, headers, body.encode())


def hec_endpoint(url: str) -> str:
    """The event endpoint under a HEC base URL (a URL already naming it is kept)."""
    url = url.rstrip("/")
    return url if "/services/collector" in url else url + HEC_EVENT_PATH


def sink_names(settings: Settings) -> list[str]:
    """The sinks an audit row is queued for: those whose URL is set. A sink missing its
    secret still gets its deliveries queued (they wait, then dead-letter, for a fix and a
    replay): an event is never dropped for a setting."""
    urls = {WEBHOOK: settings.audit_webhook_url, SPLUNK: settings.audit_splunk_hec_url}
    return [name for name, url in urls.items() if url and url.strip()]


def configured_sinks(settings: Settings) -> dict[str, Sink]:
    """The sinks by name; SinkConfigError when a URL is set without its secret."""
    sinks: dict[str, Sink] = {}
    names = sink_names(settings)
    if WEBHOOK in names:
        secret = _secret(settings.audit_webhook_secret, "PIIQ_AUDIT_WEBHOOK_SECRET", WEBHOOK)
        sinks[WEBHOOK] = WebhookSink(str(settings.audit_webhook_url).strip(), secret)
    if SPLUNK in names:
        token = _secret(settings.audit_splunk_hec_token, "PIIQ_AUDIT_SPLUNK_HEC_TOKEN", SPLUNK)
        sinks[SPLUNK] = SplunkHecSink(
            hec_endpoint(str(settings.audit_splunk_hec_url).strip()),
            token,
            source=settings.audit_splunk_source,
            sourcetype=settings.audit_splunk_sourcetype,
            index=settings.audit_splunk_index or None,
            host=settings.node or socket.gethostname(),
        )
    return sinks


def _secret(value: SecretStr | None, setting: str, sink: str) -> str:
    secret = value.get_secret_value().strip() if value is not None else ""
    if not secret:
        url_setting = "PIIQ_AUDIT_WEBHOOK_URL" if sink == WEBHOOK else "PIIQ_AUDIT_SPLUNK_HEC_URL"
        raise SinkConfigError(
            f"the audit {sink} sink has {url_setting} but no {setting}: set it (from a "
            f"Secret), or unset {url_setting}"
        )
    return secret
