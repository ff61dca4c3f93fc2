"""Review items and the allow-list of value hashes, in PostgreSQL (SQL in ``sql/``).

A review item is one message piiq acted on that people may answer: the types found and
keyed hashes of the values (never a value), and for a quarantined message its text,
sealed with the ``PIIQ_ARGS_KEYS`` keys and bound to the message's team, channel, author
and ts, until it is released, deleted or its retention ends. A quarantined file is kept the
same way: its bytes (AES-GCM box) in ``file_bytes``, its name, title and type sealed in
``content`` (a name may hold personal data too: piiq scans it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ..queue import load_sql
from ..runtime.argscrypt import ArgsKeys, open_args

_PACKAGE = "piiq.slack"
KEPT_FIELDS = ("text", "file")
HASH_PURPOSE = "piiq allow-list v1"  # what the value-hash keys are derived for


def create_review_tables(conn: psycopg.Connection[Any], prefix: str = "public") -> None:
    conn.execute(load_sql("review_up.sql", prefix, _PACKAGE))


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A quarantined file: what releasing it uploads again."""

    name: str
    title: str
    mimetype: str
    data: bytes


@dataclass(frozen=True, slots=True)
class NewItem:
    job_id: int
    team: str
    channel: str
    ts: str
    thread_ts: str | None
    user_id: str
    action: str
    entities: dict[str, int]
    value_hashes: list[dict[str, str]]  # [{"type": ..., "hash": "kid:hex"}]
    kept_text: str | None = None  # a quarantined message's text: sealed before it is stored
    kept_file: KeptFile | None = None  # a quarantined file: sealed before it is stored


def routing(item: dict[str, Any]) -> dict[str, Any]:
    """The fields the kept copy is bound to (AES-GCM associated data)."""
    return {
        "team": item["team"],
        "channel": item["channel"],
        "user": item["user_id"],
        "ts": item["ts"],
    }


def insert(
    conn: psycopg.Connection[Any],
    prefix: str,
    new: NewItem,
    keys: ArgsKeys,
    keep_seconds: float,
) -> int:
    content, file_bytes = None, None
    bound = routing(asdict(new))
    if new.kept_file is not None:
        kept = new.kept_file
        box = keys.encrypt(kept.data, _file_bound(bound))
        file_bytes = base64.b64decode(box.pop("ct"))
        about = {"name": kept.name, "title": kept.title, "mimetype": kept.mimetype, "box": box}
        content = Jsonb(keys.seal({**bound, "text": "", "file": about}, KEPT_FIELDS)["sealed"])
    elif new.kept_text is not None:
        content = Jsonb(keys.seal({**bound, "text": new.kept_text}, KEPT_FIELDS)["sealed"])
    fields = {k: v for k, v in asdict(new).items() if k != "kept_file"}
    params = {
        **fields,
        "file_bytes": file_bytes,
        "entities": Jsonb(new.entities),
        "value_hashes": Jsonb(new.value_hashes),
        "content": content,
        "keep_seconds": keep_seconds,
    }
    row = conn.execute(load_sql("review_insert.sql", prefix, _PACKAGE), params).fetchone()
    assert row is not None
    return int(row[0])


def kept_text(item: dict[str, Any], keys: ArgsKeys | None) -> str | None:
    """The quarantined text, decrypted; None once it is gone (released, deleted, expired).
    Raises ArgsUnreadable when the key that sealed it is no longer listed."""
    if item.get("content") is None:
        return None
    return str(open_args({**routing(item), "sealed": item["content"]}, keys)["text"])


def kept_file(item: dict[str, Any], keys: ArgsKeys | None) -> KeptFile | None:
    """The quarantined file, decrypted; None for a message or once the copy is gone.
    Raises ArgsUnreadable when the key that sealed it is no longer listed."""
    if item.get("content") is None or item.get("file_bytes") is None:
        return None
    about = open_args({**routing(item), "sealed": item["content"]}, keys)["file"]
    assert keys is not None  # open_args raised without keys
    box = {**about["box"], "ct": base64.b64encode(bytes(item["file_bytes"])).decode()}
    data = keys.decrypt(box, _file_bound(routing(item)), "the kept file")
    return KeptFile(about["name"], about["title"], about["mimetype"], data)


def _file_bound(bound: dict[str, Any]) -> bytes:
    """The file's box is bound to the item's routing, like its sealed name."""
    return json.dumps({**bound, "kept": "file"}, sort_keys=True).encode()


def get(conn: psycopg.Connection[Any], prefix: str, item_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("review_get.sql", prefix, _PACKAGE), {"id": item_id}).fetchone()


def note(conn: psycopg.Connection[Any], prefix: str, item_id: int, **where: str | None) -> None:
    """Record where piiq's messages about the item are (tombstone_ts, review_ts, dm ...)."""
    names = ("tombstone_ts", "review_ts", "dm_channel", "dm_ts", "report_ts")
    params = {name: where.get(name) for name in names} | {"id": item_id}
    conn.execute(load_sql("review_note.sql", prefix, _PACKAGE), params)


def decide(
    conn: psycopg.Connection[Any],
    prefix: str,
    item_id: int,
    *,
    decision: str,
    by: str,
    job_id: int,
    from_states: Iterable[str],
) -> dict[str, Any] | None:
    """Claim the item for ``decision``; None when another decision came first."""
    params = {
        "id": item_id,
        "decision": decision,
        "decided_by": by,
        "job_id": job_id,
        "from_states": list(from_states),
    }
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(load_sql("review_decide.sql", prefix, _PACKAGE), params).fetchone()


def settle(conn: psycopg.Connection[Any], prefix: str, item_id: int, state: str) -> None:
    """The item's final state; its kept copy is deleted."""
    conn.execute(load_sql("review_settle.sql", prefix, _PACKAGE), {"id": item_id, "state": state})


def expire(conn: psycopg.Connection[Any], prefix: str) -> list[tuple[int, str]]:
    """Delete the kept copies past their retention; (item id, team) of each."""
    rows = conn.execute(load_sql("review_expire.sql", prefix, _PACKAGE)).fetchall()
    return [(int(item_id), str(team)) for item_id, team in rows]


def allow(conn: psycopg.Connection[Any], prefix: str, item: dict[str, Any], by: str) -> int:
    """Allow-list the item's value hashes in its workspace; how many were new."""
    params = {
        "team": item["team"],
        "item_id": item["id"],
        "added_by": by,
        "value_hashes": Jsonb(item["value_hashes"]),
    }
    cur = conn.execute(load_sql("allow_add.sql", prefix, _PACKAGE), params)
    return cur.rowcount


def allowed_hashes(conn: psycopg.Connection[Any], prefix: str, team: str) -> frozenset[str]:
    rows = conn.execute(load_sql("allow_hashes.sql", prefix, _PACKAGE), {"team": team})
    return frozenset(str(h) for (h,) in rows.fetchall())


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One allow-list entry as admins see it: a keyed hash, never the value."""

    id: int
    team: str
    value_hash: str  # "kid:hex"
    entity_type: str
    added_by: str
    added_at: datetime
    item_id: int | None


def allow_entries(
    conn: psycopg.Connection[Any], prefix: str, team: str | None = None
) -> list[AllowEntry]:
    """The allow-list, of one workspace or all, by workspace and id."""
    rows = conn.execute(load_sql("allow_entries.sql", prefix, _PACKAGE), {"team": team})
    return [AllowEntry(*row) for row in rows.fetchall()]


def disallow(conn: psycopg.Connection[Any], prefix: str, entry_id: int) -> AllowEntry | None:
    """Remove one entry (that value is flagged again from the next scan); None if no such id."""
    row = conn.execute(load_sql("allow_remove.sql", prefix, _PACKAGE), {"id": entry_id}).fetchone()
    return AllowEntry(*row) if row else None
