"""Periodic jobs a Slack worker runs without being asked: the retention of held messages.

A worker that runs the events queue, with ``PIIQ_ARGS_KEYS`` set (only then are messages
held for review), adds the hourly ``ExpireHeldWorker`` entry to its crontab; every pod
may carry it, the cron inserts each hour's job once however many do.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..queue import CronError, parse_crontab
from ..runtime.settings import Settings
from .jobs import MESSAGE_QUEUE

RETENTION_WORKER = "piiq.slack.review.ExpireHeldWorker"
RETENTION_ENTRY = f"@hourly {RETENTION_WORKER}"


def with_retention(
    settings: Settings, queue_specs: Iterable[str], crontab: tuple[str, ...]
) -> tuple[str, ...]:
    """``crontab`` plus the retention entry when this worker can hold messages and no
    entry of the user's already runs that worker (theirs wins: another schedule)."""
    names = {spec.partition("=")[0].strip() for spec in queue_specs}
    keys = settings.args_keys
    if MESSAGE_QUEUE not in names or keys is None or not keys.get_secret_value().strip():
        return crontab
    try:
        if any(entry.worker == RETENTION_WORKER for entry in parse_crontab(crontab)):
            return crontab
    except CronError:
        return crontab  # the Runner names the bad entry
    return (*crontab, RETENTION_ENTRY)
