"""piiq.runtime.argscrypt: the PIIQ_ARGS_KEYS format, sealing, rotation, and what cannot be opened."""

from __future__ import annotations

import base64
import json

import pytest

from piiq.runtime.argscrypt import (
    SEALED,
    ArgsKeyError,
    ArgsKeys,
    ArgsUnreadable,
    generate,
    open_args,
)
from piiq.slack.jobs import MESSAGE_SEALED_ARGS, MESSAGE_SENSITIVE_ARGS, message_job
from tests.support.pii_samples import CARD, SSN

OLD = base64.b64encode(bytes(range(32))).decode()
NEW = base64.b64encode(bytes(range(100, 132))).decode()

ARGS = {
    "event_id": "Ev1",
    "team": "T1",
    "channel": "C1",
    "user": "U0ALICE",
    "ts": "1.000001",
    "thread_ts": None,
    "edited": False,
    "text": f"card {CARD} and ssn {SSN} ünïcødé",
    "attachments": [{"title": "t", "text": SSN}],
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": CARD}}],
    "files": [{"id": "F1", "name": "ssn-list.pdf", "mimetype": "application/pdf", "size": 3}],
}


def test_sealed_args_hold_no_content_and_open_to_the_same_args() -> None:
    keys = ArgsKeys.parse(f"k1:{OLD}")
    sealed = keys.seal(ARGS, MESSAGE_SEALED_ARGS)
    stored = json.dumps(sealed)
    for value in (CARD, SSN, "ünïcødé", "ssn-list.pdf"):
        assert value not in stored
    assert set(sealed) == set(ARGS) - set(MESSAGE_SEALED_ARGS) | {SEALED}
    assert sealed[SEALED]["kid"] == "k1" and sealed[SEALED]["v"] == 1
    assert open_args(json.loads(stored), keys) == ARGS  # through JSON, as the row stores it
    assert keys.seal(ARGS, MESSAGE_SEALED_ARGS)[SEALED]["nonce"] != sealed[SEALED]["nonce"]


def test_rotation_the_first_key_encrypts_and_every_key_decrypts() -> None:
    before = ArgsKeys.parse(f"k1:{OLD}")
    after = ArgsKeys.parse(f" k2:{NEW} , k1:{OLD},")  # spaces and a trailing comma are fine
    old_job = before.seal(ARGS, MESSAGE_SEALED_ARGS)
    new_job = after.seal(ARGS, MESSAGE_SEALED_ARGS)
    assert new_job[SEALED]["kid"] == "k2" and after.ids == ["k2", "k1"]
    assert open_args(old_job, after) == ARGS == open_args(new_job, after)


def test_an_unknown_key_id_names_the_id_and_the_setting() -> None:
    sealed = ArgsKeys.parse(f"k2:{NEW}").seal(ARGS, MESSAGE_SEALED_ARGS)
    with pytest.raises(ArgsUnreadable) as caught:
        open_args(sealed, ArgsKeys.parse(f"k1:{OLD}"))
    assert caught.value.key_id == "k2"
    assert "'k2'" in str(caught.value) and "PIIQ_ARGS_KEYS" in str(caught.value)
    with pytest.raises(ArgsUnreadable, match="PIIQ_ARGS_KEYS is not set"):
        open_args(sealed, None)


def test_a_moved_or_altered_ciphertext_does_not_open() -> None:
    keys = ArgsKeys.parse(f"k1:{OLD}")
    sealed = keys.seal(ARGS, MESSAGE_SEALED_ARGS)
    with pytest.raises(ArgsUnreadable, match="do not decrypt"):
        open_args({**sealed, "user": "U0MALLORY"}, keys)  # the DM would go to someone else
    with pytest.raises(ArgsUnreadable, match="do not decrypt"):
        open_args(sealed, ArgsKeys.parse(f"k1:{NEW}"))  # another key under the same id
    broken = {**sealed, SEALED: {**sealed[SEALED], "ct": "not base64!"}}
    with pytest.raises(ArgsUnreadable, match="do not decrypt"):
        open_args(broken, keys)


def test_plain_args_pass_through_with_or_without_keys() -> None:
    assert open_args(ARGS, None) == ARGS == open_args(ARGS, ArgsKeys.parse(f"k1:{OLD}"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (OLD, "entry 1 is not KEY_ID:BASE64_KEY"),
        (f"k1:{OLD},bad id:{NEW}", "entry 2 is not KEY_ID:BASE64_KEY"),
        ("k1:c2hvcnQ=", "the key of 'k1' is not 32 bytes"),
        ("k1:%%%%", "the key of 'k1' is not 32 bytes"),
        (f"k1:{OLD},k1:{NEW}", "key id 'k1' appears twice"),
        (" , ", "holds no key"),
    ],
)
def test_a_bad_setting_is_one_line_that_never_shows_a_key(value: str, message: str) -> None:
    with pytest.raises(ArgsKeyError) as caught:
        ArgsKeys.parse(value)
    text = str(caught.value)
    assert message in text and "PIIQ_ARGS_KEYS" in text and "\n" not in text
    assert OLD not in text and NEW not in text
    assert OLD not in repr(ArgsKeys.parse(f"k1:{OLD}"))


def test_generated_entries_parse_and_differ() -> None:
    first, second = generate(), generate("2026-12.a")
    keys = ArgsKeys.parse(f"{first},{second}")
    assert keys.ids[1] == "2026-12.a" and first != second
    assert ArgsKeys.from_setting("") is None and ArgsKeys.from_setting(None) is None


def test_a_message_job_seals_its_content_and_scrubs_both_forms() -> None:
    job = message_job(dict(ARGS), ArgsKeys.parse(f"k1:{OLD}"))
    assert SSN not in json.dumps(job.args) and job.args["channel"] == "C1"
    assert job.meta["scrub"] == list(MESSAGE_SENSITIVE_ARGS) and SEALED in job.meta["scrub"]
    assert message_job(dict(ARGS)).args == ARGS  # no keys: as before
