"""``piiq audit export``: audit rows since a time as JSON lines or CSV, streamed (a
server-side cursor, so a year of rows never sits in memory)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

import psycopg

from ...queue import load_sql
from .events import FIELDS, event_of

_PACKAGE = "piiq.slack"
FORMATS = ("jsonl", "csv")
_BATCH = 1000


def rows_since(
    conn: psycopg.Connection[Any], prefix: str, since: datetime
) -> Iterator[dict[str, Any]]:
    """Events of the rows written since ``since`` (naive UTC), oldest first."""
    sql = load_sql("audit_since.sql", prefix, _PACKAGE)
    with conn.transaction(), conn.cursor(name="piiq_audit_export") as cur:
        cur.itersize = _BATCH
        cur.execute(sql, {"since": since})
        for row in cur:
            yield event_of(row)


def write(events: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """Write ``events`` to ``out`` as ``fmt``; returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for event in events:
            writer.writerow({**event, "entities": json.dumps(event["entities"], sort_keys=True)})
            count += 1
        return count
    for event in events:
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        count += 1
    return count
