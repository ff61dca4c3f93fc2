"""One audit row as the event every sink and export carries: its columns, nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# The audit table's columns, in export order. The table holds no message text and no
# matched values; this list is what leaves the database, so nothing else can.
FIELDS = (
    "id",
    "recorded_at",
    "job_id",
    "team",
    "channel",
    "ts",
    "user_id",
    "subject",
    "decision",
    "entities",
    "action",
    "outcome",
)


def event_of(row: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    """The event for an audit row (a mapping, or a tuple in ``FIELDS`` order)."""
    values = row if isinstance(row, Mapping) else dict(zip(FIELDS, row, strict=True))
    event = {name: values[name] for name in FIELDS}
    event["recorded_at"] = utc_iso(event["recorded_at"])
    return event


def utc_iso(moment: datetime) -> str:
    """A naive UTC timestamp (as the table keeps it) in ISO 8601 with ``Z``."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def epoch_seconds(event: Mapping[str, Any]) -> float:
    """The event's time as Unix seconds (HEC's ``time``)."""
    moment = datetime.fromisoformat(str(event["recorded_at"]).removesuffix("Z") + "+00:00")
    return round(moment.timestamp(), 6)
