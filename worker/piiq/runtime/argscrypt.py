"""Personal data in job args, encrypted at rest: AES-GCM with keys from ``PIIQ_ARGS_KEYS``.

The ingress seals the fields that hold what people wrote (``seal``) before the job is
inserted; the workers open them (``open_args``) before they scan. The sealed form is one
args field, ``sealed``, holding the key id beside the nonce and the ciphertext, so keys
rotate: put a new key first in ``PIIQ_ARGS_KEYS`` (it encrypts from then on) and keep the
old ones after it for as long as jobs sealed with them may still run (they decrypt).

The ciphertext is bound to the job's routing fields (team, channel, user, ts, event and
file ids): moved into another job, or with the DM's recipient changed, it does not open.

The queue library knows nothing of this: the Slack jobs list ``sealed`` among the fields
scrubbed at the end, like the plain ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

SETTING = "PIIQ_ARGS_KEYS"
SEALED = "sealed"  # the args field that holds the ciphertext
VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
# Args that route the job: authenticated with the ciphertext (AES-GCM's associated data).
BOUND = ("team", "channel", "user", "ts", "event_id", "file_id")
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ArgsKeyError(ValueError):
    """``PIIQ_ARGS_KEYS`` cannot be read; the message names the entry, never the key."""


class ArgsUnreadable(Exception):
    """A job's sealed args cannot be opened here: no keys, an unknown key id, or a
    ciphertext that does not verify. ``key_id`` is the id stored in the job."""

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


@dataclass(frozen=True)
class ArgsKeys:
    """The keys in ``PIIQ_ARGS_KEYS``, in order: the first encrypts, every one decrypts."""

    keys: tuple[tuple[str, bytes], ...]
    setting: str = SETTING  # where the keys come from, named in errors

    def __repr__(self) -> str:  # never the key bytes
        return f"ArgsKeys(ids={self.ids})"

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    @property
    def current(self) -> str:
        return self.keys[0][0]

    @classmethod
    def parse(cls, value: str, setting: str = SETTING) -> ArgsKeys:
        """``id:base64(32 bytes)`` entries, comma-separated; ArgsKeyError on a bad one."""
        SETTING = setting  # the errors name the setting the value came from
        keys: list[tuple[str, bytes]] = []
        entries = [entry.strip() for entry in value.split(",")]
        for number, entry in enumerate(entries, start=1):
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise ArgsKeyError(
                    f"{SETTING}: entry {number} is not KEY_ID:BASE64_KEY (a key id of letters, "
                    "digits, '.', '_' or '-', a colon, then the key); make one with "
                    "`piiq keys generate`"
                )
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != KEY_BYTES:
                raise ArgsKeyError(
                    f"{SETTING}: the key of {key_id!r} is not {KEY_BYTES} bytes in base64 "
                    "(AES-256); make one with `piiq keys generate`"
                )
            if key_id in dict(keys):
                raise ArgsKeyError(f"{SETTING}: key id {key_id!r} appears twice; ids must differ")
            keys.append((key_id, key))
        if not keys:
            raise ArgsKeyError(
                f"{SETTING} is set but holds no key; unset it, or make one with "
                "`piiq keys generate`"
            )
        return cls(tuple(keys), setting)

    @classmethod
    def from_setting(cls, value: SecretStr | str | None, setting: str = SETTING) -> ArgsKeys | None:
        """None when the setting is unset or empty (args stay in plain text)."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or not raw.strip():
            return None
        return cls.parse(raw, setting)

    def encrypt(self, plain: bytes, bound: bytes) -> dict[str, Any]:
        """``plain`` sealed with the first key, authenticated with ``bound`` (AES-GCM's
        associated data): ``{"v", "kid", "nonce", "ct"}``."""
        key_id, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        box = AESGCM(key).encrypt(nonce, plain, bound)
        return {
            "v": VERSION,
            "kid": key_id,
            "nonce": base64.b64encode(nonce).decode(),
            "ct": base64.b64encode(box).decode(),
        }

    def decrypt(self, sealed: Mapping[str, Any], bound: bytes, what: str) -> bytes:
        """What ``encrypt`` sealed; ArgsUnreadable (naming ``what``, the key id and the
        setting, never a key) when the key id is unknown or the box does not verify."""
        key_id = str(sealed.get("kid", ""))
        key = dict(self.keys).get(key_id)
        if key is None:
            raise ArgsUnreadable(
                f"{what} are encrypted with key id {key_id!r}, which {self.setting} does not "
                f"hold (it holds {', '.join(self.ids)}): add that key back to {self.setting}; "
                "a key must stay listed while data sealed with it may still be read",
                key_id,
            )
        try:
            nonce = base64.b64decode(str(sealed.get("nonce", "")), validate=True)
            box = base64.b64decode(str(sealed.get("ct", "")), validate=True)
            return AESGCM(key).decrypt(nonce, box, bound)
        except (InvalidTag, binascii.Error, ValueError):
            raise ArgsUnreadable(
                f"{what} do not decrypt with key id {key_id!r} from {self.setting}: the key "
                "under that id differs from the one that sealed them, or they were altered",
                key_id,
            ) from None

    def derived(self, purpose: str) -> tuple[tuple[str, bytes], ...]:
        """Per key, a key for another use (HMAC-SHA-256 of ``purpose`` under it): the
        encryption keys themselves are used for nothing else."""
        return tuple(
            (key_id, hmac.new(key, purpose.encode(), hashlib.sha256).digest())
            for key_id, key in self.keys
        )

    def seal(self, args: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        """``args`` with ``fields`` replaced by one sealed field (encrypted with the first key)."""
        secret = {f: args[f] for f in fields if f in args}
        if not secret:
            return dict(args)
        rest = {k: v for k, v in args.items() if k not in secret}
        plain = json.dumps(secret, separators=(",", ":"), ensure_ascii=False).encode()
        return {**rest, SEALED: self.encrypt(plain, _bound(rest))}


def is_sealed(args: Mapping[str, Any]) -> bool:
    return isinstance(args.get(SEALED), dict)


def open_args(args: Mapping[str, Any], keys: ArgsKeys | None) -> dict[str, Any]:
    """``args`` with the sealed fields back in place; unsealed args are returned as they are.

    Raises ArgsUnreadable (naming the key id and the setting) when they cannot be opened.
    """
    if not is_sealed(args):
        return dict(args)
    sealed = args[SEALED]
    key_id = str(sealed.get("kid", ""))
    rest = {k: v for k, v in args.items() if k != SEALED}
    if keys is None:
        raise ArgsUnreadable(
            f"the job's args are encrypted with key id {key_id!r} but {SETTING} is not set "
            "on this worker: give the workers the same keys as the ingress",
            key_id,
        )
    plain = keys.decrypt(sealed, _bound(rest), "the job's args")
    try:
        secret = json.loads(plain)
    except ValueError:
        raise ArgsUnreadable("the job's sealed args are not JSON: altered", key_id) from None
    return {**rest, **secret}


def generate(key_id: str | None = None) -> str:
    """A new ``id:base64`` entry for ``PIIQ_ARGS_KEYS``: 32 random bytes, a dated id."""
    key_id = key_id or f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    if not _KEY_ID.match(key_id):
        raise ArgsKeyError(
            f"key id {key_id!r}: use 1 to 64 letters, digits, '.', '_' or '-' (no colon)"
        )
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def describe(keys: ArgsKeys | None) -> dict[str, Any]:
    """What a process logs once at start-up about encryption (ids only, never keys)."""
    if keys is None:
        return {
            "args_encryption": "off",
            "why": f"{SETTING} is not set: message text is stored in job args in plain text "
            "until the job finishes",
        }
    return {"args_encryption": "aes-256-gcm", "encrypt_key": keys.current, "key_ids": keys.ids}


def _bound(rest: Mapping[str, Any]) -> bytes:
    bound = {k: rest[k] for k in BOUND if k in rest}
    return json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()
