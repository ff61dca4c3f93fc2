"""Periodic jobs, as Oban's Cron plugin: a crontab of ``(expression, worker, options)``.

Each runner given a crontab evaluates it once a minute (at each tick, the minute's start,
in UTC) and inserts a job for every entry whose expression matches the tick. Unlike
Oban's open-source plugin, which inserts only on the leader node, every runner inserts:
each job carries a unique key made of the entry and the tick, held in every state, so the
unique index lets exactly one insert per (entry, tick) through however many runners
evaluate the same crontab (see ``unique.py``).

Expressions follow Oban's ``Oban.Cron.Expression``: five fields (minute, hour, day of
month, month, day of week) of ``*``, numbers, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and
``a/n`` (from a to the field's end), lists ``a,b``, month names JAN-DEC and day names
SUN-SAT (any case), and the aliases @yearly, @annually, @monthly, @weekly, @daily,
@midnight and @hourly. As in Oban, a tick matches when *every* field matches: a day of
month and a day of week both restrict (Vixie cron's "either" rule does not apply). 7 is
accepted for Sunday. @reboot is refused: a job "at boot" of every pod is not a tick that
all runners agree on.

This module is pure: parsing, matching and building jobs. The runner does the inserting.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._job import MAX_NAME_LENGTH, MAX_PRIORITY, STATES, Job
from ._unique import Unique

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names for lowest, lowest + 1, ...)
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),  # 7 is Sunday too
)
OPTION_KEYS = ("args", "queue", "priority", "max_attempts", "tags", "name")
# A cron job's key blocks duplicates in every state: a tick's job that already finished
# still counts as that tick's job.
CRON_STATES = STATES
_PART = re.compile(r"^(?:(\*)|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:/([0-9]+))?$")


class CronError(ValueError):
    """A crontab entry that cannot be used; the message names the value and the fix."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed cron expression: the values each field allows."""

    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 is Sunday

    def matches(self, at: datetime) -> bool:
        """Whether the minute of ``at`` is a tick of this expression (all fields match)."""
        return (
            at.minute in self.minutes
            and at.hour in self.hours
            and at.day in self.days
            and at.month in self.months
            and at.isoweekday() % 7 in self.weekdays
        )


def parse_expression(text: str) -> Expression:
    """Parse a five-field expression or an alias; raises CronError naming the bad value."""
    if not isinstance(text, str):
        raise CronError(f"cron expression {text!r} must be a string, e.g. '*/5 * * * *'")
    source = text.strip()
    if source.startswith("@"):
        if source.lower() == "@reboot":
            raise CronError(
                "cron expression '@reboot' is not supported: periodic jobs run at ticks every "
                "worker agrees on; use a schedule such as @hourly or '*/5 * * * *'"
            )
        expanded = ALIASES.get(source.lower())
        if expanded is None:
            raise CronError(
                f"cron expression {source!r} is not a known alias: use one of "
                f"{', '.join(ALIASES)} or five fields, e.g. '*/5 * * * *'"
            )
        parts = expanded.split()
    else:
        parts = source.split()
    if len(parts) != 5:
        raise CronError(
            f"cron expression {source!r} has {len(parts)} fields, not 5 (minute hour "
            "day-of-month month day-of-week), e.g. '*/5 * * * *'"
        )
    sets = [_parse_field(part, spec, source) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Expression(source, sets[0], sets[1], sets[2], sets[3], weekdays)


def _parse_field(
    text: str, spec: tuple[str, int, int, tuple[str, ...]], source: str
) -> frozenset[int]:
    name, low, high, _ = spec
    values: set[int] = set()
    for part in text.split(","):
        match = _PART.match(part)
        if match is None:
            raise CronError(
                f"cron expression {source!r}: {name} field {text!r} is not valid: use *, a "
                "number, a range a-b, a step */n or a-b/n, or a list a,b"
            )
        star, first, last, step = match.groups()
        if star:
            start, end = low, high if name != "day of week" else 6
        else:
            start = _value(first, spec, source)
            end = _value(last, spec, source) if last else (high if step else start)
            if start > end:
                raise CronError(
                    f"cron expression {source!r}: {name} range {part!r} runs backwards: "
                    f"write it as {last}-{first} or split it into a list"
                )
        increment = int(step) if step else 1
        if increment < 1:
            raise CronError(
                f"cron expression {source!r}: {name} step in {part!r} must be 1 or more"
            )
        values.update(range(start, end + 1, increment))
    return frozenset(values)


def _value(token: str, spec: tuple[str, int, int, tuple[str, ...]], source: str) -> int:
    name, low, high, names = spec
    upper = token.upper()
    if upper in names:
        return names.index(upper) + low
    if not token.isdigit():
        hint = f" or a name {names[0]}-{names[-1]}" if names else ""
        raise CronError(f"cron expression {source!r}: {name} value {token!r} is not a number{hint}")
    value = int(token)
    if not low <= value <= high:
        raise CronError(
            f"cron expression {source!r}: {name} value {value} is out of range {low}-{high}"
        )
    return value


@dataclass(frozen=True)
class CronEntry:
    """One crontab line: insert a ``worker`` job with these options at each tick.

    ``queue``, ``priority``, ``max_attempts`` and ``tags`` default to the worker class's.
    ``name`` identifies the entry for uniqueness (default: the entry's whole content), so
    an entry whose args change during a rolling update still fires once per tick.
    """

    expression: str
    worker: str
    args: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    priority: int | None = None
    max_attempts: int | None = None
    tags: tuple[str, ...] | None = None
    name: str | None = None
    parsed: Expression = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed", parse_expression(self.expression))
        where = f"cron entry {self.expression!r} {self.worker!r}"
        if not isinstance(self.worker, str) or not 0 < len(self.worker) <= MAX_NAME_LENGTH:
            raise CronError(f"{where}: worker must be a name of 1 to {MAX_NAME_LENGTH} characters")
        if not isinstance(self.args, Mapping):
            raise CronError(f"{where}: args {self.args!r} must be a JSON object")
        try:
            json.dumps(dict(self.args), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CronError(f"{where}: args are not JSON: {exc}") from None
        object.__setattr__(self, "args", dict(self.args))
        if self.queue is not None and (
            not isinstance(self.queue, str) or not 0 < len(self.queue) <= MAX_NAME_LENGTH
        ):
            raise CronError(f"{where}: queue {self.queue!r} must be 1 to 127 characters")
        if self.priority is not None and (
            isinstance(self.priority, bool)
            or not isinstance(self.priority, int)
            or not 0 <= self.priority <= MAX_PRIORITY
        ):
            raise CronError(f"{where}: priority {self.priority!r} must be 0 to {MAX_PRIORITY}")
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise CronError(f"{where}: max_attempts {self.max_attempts!r} must be 1 or more")
        tags: Any = self.tags  # as written in the crontab, not yet checked
        if tags is not None:
            if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
                raise CronError(f"{where}: tags {self.tags!r} must be a list of strings")
            object.__setattr__(self, "tags", tuple(tags))
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise CronError(f"{where}: name {self.name!r} must be a non-empty string")

    def options(self) -> dict[str, Any]:
        """The options given (besides expression and worker), as in the crontab line."""
        values = {
            "args": self.args or None,
            "queue": self.queue,
            "priority": self.priority,
            "max_attempts": self.max_attempts,
            "tags": list(self.tags) if self.tags is not None else None,
            "name": self.name,
        }
        return {k: v for k, v in values.items() if v is not None}

    @property
    def identity(self) -> str:
        """What makes two runners' entries the same entry: ``name``, else the content."""
        if self.name is not None:
            return f"name:{self.name}"
        content = [self.parsed.source, self.worker, self.options()]
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return "entry:" + hashlib.sha256(text.encode()).hexdigest()[:32]

    def due(self, tick: datetime) -> bool:
        return self.parsed.matches(tick)


def parse_entry(line: str) -> CronEntry:
    """``EXPRESSION WORKER [OPTIONS]``: five fields or an alias, the worker's name, and
    optionally a JSON object of args, queue, priority, max_attempts, tags and name, e.g.
    ``*/5 * * * * myapp.workers.Report {"args": {"kind": "daily"}, "queue": "reports"}``.
    """
    text = line.strip()
    count = 1 if text.startswith("@") else 5
    pieces = text.split(None, count + 1)
    if len(pieces) < count + 1:
        raise CronError(
            f"crontab entry {line!r} must be EXPRESSION WORKER [OPTIONS], e.g. "
            "'*/5 * * * * myapp.workers.Report'"
        )
    expression = " ".join(pieces[:count])
    worker = pieces[count]
    options: Any = {}
    if len(pieces) > count + 1:
        try:
            options = json.loads(pieces[count + 1])
        except ValueError as exc:
            raise CronError(
                f"crontab entry {line!r}: the options after the worker must be a JSON object, "
                f'e.g. {{"args": {{"k": 1}}, "queue": "reports"}} ({exc})'
            ) from None
        if not isinstance(options, dict):
            raise CronError(f"crontab entry {line!r}: options must be a JSON object")
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise CronError(
                f"crontab entry {line!r}: unknown option {', '.join(unknown)}: use "
                f"{', '.join(OPTION_KEYS)}"
            )
    if "tags" in options and isinstance(options["tags"], list):
        options["tags"] = tuple(options["tags"])
    return CronEntry(expression, worker, **options)


def format_entry(entry: CronEntry) -> str:
    """The crontab line ``parse_entry`` reads back as ``entry``."""
    options = entry.options()
    line = f"{entry.parsed.source} {entry.worker}"
    if options:
        line += " " + json.dumps(options, sort_keys=True, separators=(",", ":"))
    return line


def parse_crontab(lines: Iterable[str | CronEntry]) -> tuple[CronEntry, ...]:
    """Entries from lines (or entries); blank lines and ``#`` comments are skipped."""
    entries: list[CronEntry] = []
    for line in lines:
        if isinstance(line, CronEntry):
            entries.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            entries.append(parse_entry(line))
    return tuple(entries)


def tick_of(now: datetime) -> datetime:
    """The tick (minute start, naive UTC) that ``now`` falls in."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return now.replace(second=0, microsecond=0)


def seconds_to_next_tick(now: datetime) -> float:
    """Seconds from ``now`` to the start of the next minute."""
    return 60.0 - now.second - now.microsecond / 1_000_000


def tick_unique(entry: CronEntry, tick: datetime) -> Unique:
    """The unique option that lets one job per (entry, tick) in."""
    return Unique(key=f"cron:{entry.identity}:{tick.isoformat()}", states=CRON_STATES)


def build_job(entry: CronEntry, tick: datetime, new: Callable[..., Job]) -> Job:
    """The job of ``entry`` at ``tick``, built by the worker class's ``new`` (its defaults).

    Its meta marks it as Oban's do (``cron``, ``cron_expr``) plus the tick it is for.
    """
    return new(
        entry.args,
        queue=entry.queue,
        priority=entry.priority,
        max_attempts=entry.max_attempts,
        tags=entry.tags,
        meta={"cron": True, "cron_expr": entry.parsed.source, "cron_tick": tick.isoformat()},
        unique=tick_unique(entry, tick),
    )


def due_jobs(
    crontab: Iterable[CronEntry], tick: datetime, resolve: Callable[[str], Any]
) -> list[Job]:
    """The jobs the crontab inserts at ``tick``; ``resolve`` maps a worker name to its class."""
    return [build_job(e, tick, resolve(e.worker).new) for e in crontab if e.due(tick)]
