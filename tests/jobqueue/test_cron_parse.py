"""Cron expressions and crontab lines (pure functions): Oban's syntax and matching rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from piiq.queue import Job, Worker
from piiq.queue._cron import (
    CRON_STATES,
    CronEntry,
    CronError,
    due_jobs,
    format_entry,
    parse_crontab,
    parse_entry,
    parse_expression,
    seconds_to_next_tick,
    tick_of,
)
from piiq.queue._worker import resolve_worker


class Digest(Worker):
    queue = "reports"
    max_attempts = 3
    sensitive_args = ("email",)

    def perform(self, job): ...


def test_fields_ranges_steps_lists_and_names() -> None:
    e = parse_expression("*/15 9-17 1,15 JAN-mar mon-FRI")
    assert sorted(e.minutes) == [0, 15, 30, 45]
    assert sorted(e.hours) == list(range(9, 18))
    assert sorted(e.days) == [1, 15]
    assert sorted(e.months) == [1, 2, 3]
    assert sorted(e.weekdays) == [1, 2, 3, 4, 5]
    assert sorted(parse_expression("5/20 * * * *").minutes) == [5, 25, 45]  # a/n: to the end
    assert sorted(parse_expression("0-30/10 * * * *").minutes) == [0, 10, 20, 30]
    assert sorted(parse_expression("* * * * 5-7").weekdays) == [0, 5, 6]  # 7 is Sunday
    assert sorted(parse_expression("* * * * *").weekdays) == list(range(7))
    assert sorted(parse_expression("1,2-4,*/30 * * * *").minutes) == [0, 1, 2, 3, 4, 30]


@pytest.mark.parametrize(
    ("alias", "fields"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@HOURLY", "0 * * * *"),
    ],
)
def test_aliases_are_oban_s(alias: str, fields: str) -> None:
    a, b = parse_expression(alias), parse_expression(fields)
    assert (a.minutes, a.hours, a.days, a.months, a.weekdays) == (
        b.minutes,
        b.hours,
        b.days,
        b.months,
        b.weekdays,
    )
    assert a.source == alias


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("60 * * * *", "'60 * * * *': minute value 60 is out of range 0-59"),
        ("* 24 * * *", "hour value 24 is out of range 0-23"),
        ("* * 0 * *", "day of month value 0 is out of range 1-31"),
        ("* * * 13 *", "month value 13 is out of range 1-12"),
        ("* * * * 8", "day of week value 8 is out of range 0-7"),
        ("* * * FOO *", "month value 'FOO' is not a number or a name JAN-DEC"),
        ("* * * * MONDAY", "day of week value 'MONDAY' is not a number or a name SUN-SAT"),
        ("5-1 * * * *", "minute range '5-1' runs backwards"),
        ("*/0 * * * *", "minute step in '*/0' must be 1 or more"),
        ("*/a * * * *", "minute field '*/a' is not valid"),
        ("1,,2 * * * *", "minute field '1,,2' is not valid"),
        ("* * * *", "'* * * *' has 4 fields, not 5"),
        ("* * * * * *", "has 6 fields, not 5"),
        ("", "'' has 0 fields, not 5"),
        ("@often", "'@often' is not a known alias"),
        ("@reboot", "'@reboot' is not supported"),
    ],
)
def test_bad_expressions_are_named_in_one_line(text: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_expression(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_field_must_match_as_in_oban() -> None:
    # Oban.Cron.Expression.now?/2: all fields, a day of month and a day of week alike.
    e = parse_expression("30 12 13 * FRI")
    friday_13th = datetime(2026, 2, 13, 12, 30)
    assert friday_13th.isoweekday() == 5
    assert e.matches(friday_13th)
    assert not e.matches(datetime(2026, 4, 13, 12, 30))  # the 13th, a Monday
    assert not e.matches(datetime(2026, 2, 20, 12, 30))  # a Friday, not the 13th
    assert not e.matches(friday_13th.replace(minute=31))
    sunday = datetime(2026, 2, 15, 0, 0)
    assert parse_expression("@weekly").matches(sunday)
    assert parse_expression("0 0 * * 7").matches(sunday)
    assert not parse_expression("@weekly").matches(sunday + timedelta(days=1))


def test_matching_over_a_day_counts_the_ticks() -> None:
    start = datetime(2026, 1, 1)
    minutes = [start + timedelta(minutes=i) for i in range(24 * 60)]
    assert sum(parse_expression("*/5 * * * *").matches(m) for m in minutes) == 288
    assert sum(parse_expression("@hourly").matches(m) for m in minutes) == 24
    assert sum(parse_expression("0 9-17/2 * * *").matches(m) for m in minutes) == 5
    assert sum(parse_expression("@daily").matches(m) for m in minutes) == 1


def test_ticks_are_utc_minutes() -> None:
    assert tick_of(datetime(2026, 1, 1, 10, 4, 59, 999999)) == datetime(2026, 1, 1, 10, 4)
    aware = datetime(2026, 1, 1, 12, 4, 30, tzinfo=timezone(timedelta(hours=2)))
    assert tick_of(aware) == datetime(2026, 1, 1, 10, 4)
    assert tick_of(datetime(2026, 1, 1, 10, 4, tzinfo=UTC)).tzinfo is None
    assert seconds_to_next_tick(datetime(2026, 1, 1, 10, 4, 45, 500000)) == 14.5


def test_crontab_lines_round_trip() -> None:
    entry = parse_entry(
        '  0 12 * * MON  myapp.Report {"args": {"kind": "weekly"}, "queue": "reports", '
        '"priority": 2, "max_attempts": 1, "tags": ["cron"], "name": "weekly-report"}'
    )
    assert entry == CronEntry(
        "0 12 * * MON",
        "myapp.Report",
        args={"kind": "weekly"},
        queue="reports",
        priority=2,
        max_attempts=1,
        tags=("cron",),
        name="weekly-report",
    )
    assert parse_entry(format_entry(entry)) == entry
    assert parse_entry("@daily myapp.Cleanup") == CronEntry("@daily", "myapp.Cleanup")
    assert format_entry(CronEntry("@daily", "myapp.Cleanup")) == "@daily myapp.Cleanup"
    lines = ["# nightly", "", "@daily myapp.Cleanup", CronEntry("* * * * *", "x.Y")]
    assert [e.worker for e in parse_crontab(lines)] == ["myapp.Cleanup", "x.Y"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("* * * * *", "must be EXPRESSION WORKER [OPTIONS]"),
        ("@daily", "must be EXPRESSION WORKER [OPTIONS]"),
        ("61 * * * * x.Y", "minute value 61 is out of range 0-59"),
        ("* * * * * x.Y {args}", "the options after the worker must be a JSON object"),
        ("* * * * * x.Y [1]", "options must be a JSON object"),
        ('* * * * * x.Y {"queues": "a"}', "unknown option queues"),
        ('* * * * * x.Y {"args": [1]}', "args [1] must be a JSON object"),
        ('* * * * * x.Y {"priority": 10}', "priority 10 must be 0 to 9"),
        ('* * * * * x.Y {"max_attempts": 0}', "max_attempts 0 must be 1 or more"),
        ('* * * * * x.Y {"queue": ""}', "queue '' must be 1 to 127 characters"),
        ('* * * * * x.Y {"tags": "a"}', "tags 'a' must be a list of strings"),
        ('* * * * * x.Y {"name": ""}', "name '' must be a non-empty string"),
    ],
)
def test_bad_crontab_lines_are_named(line: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_entry(line)
    assert message in str(caught.value)


def test_identity_is_the_content_or_the_name() -> None:
    a = CronEntry("*/5 * * * *", "x.Y", args={"a": 1, "b": 2})
    assert a.identity == CronEntry("*/5 * * * *", "x.Y", args={"b": 2, "a": 1}).identity
    assert a.identity != CronEntry("*/5 * * * *", "x.Y", args={"a": 2}).identity
    assert a.identity != CronEntry("*/10 * * * *", "x.Y", args={"a": 1, "b": 2}).identity
    named = CronEntry("*/5 * * * *", "x.Y", args={"a": 1}, name="five")
    assert named.identity == CronEntry("*/5 * * * *", "x.Y", args={"a": 2}, name="five").identity


def test_due_jobs_carry_oban_s_meta_and_a_key_per_entry_and_tick() -> None:
    crontab = parse_crontab(
        [
            f'* * * * * {Digest.name} {{"args": {{"email": "a@b.c"}}}}',
            f'*/2 * * * * {Digest.name} {{"queue": "other", "priority": 1}}',
        ]
    )
    tick = datetime(2026, 1, 1, 10, 3)
    (job,) = due_jobs(crontab, tick, resolve_worker)  # 10:03 is odd: only the first
    assert job.worker == Digest.name and job.queue == "reports" and job.max_attempts == 3
    assert job.args == {"email": "a@b.c"}
    assert job.meta == {
        "cron": True,
        "cron_expr": "* * * * *",
        "cron_tick": "2026-01-01T10:03:00",
        "scrub": ["email"],  # the worker class's options still apply
    }
    assert job.unique is not None and job.unique.states == CRON_STATES
    both = due_jobs(crontab, tick + timedelta(minutes=1), resolve_worker)
    assert [(j.queue, j.priority) for j in both] == [("reports", 0), ("other", 1)]
    again = due_jobs(crontab, tick, resolve_worker)[0]

    def key(j: Job) -> str:
        assert j.unique is not None
        return j.unique.key_for(j, datetime.now())  # no period: the insert time is unused

    assert key(again) == key(job)  # any runner, any moment: one key for the tick
    assert key(both[0]) != key(job)  # the next tick is another job
