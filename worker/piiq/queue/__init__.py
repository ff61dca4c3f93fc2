"""An Oban-compatible job queue on PostgreSQL (schema version 12), usable on its own.

from piiq.queue import Client, Worker

class SlackMessageWorker(Worker):
    queue = "events"
    max_attempts = 3

    def perform(self, job): ...

client = Client("postgresql://...")
client.insert(SlackMessageWorker.new({"channel": "C1", "ts": "1.2"}))

What this module exports is the API; modules with a leading underscore are internals.
``piiq.queue.inspection`` (read-only views for people), ``piiq.queue.testing``,
``piiq.queue.devdb`` and ``piiq.queue.pytest_plugin`` (testing support) are public too.
"""

from ._client import Client, ConfigError
from ._control import QueueControl, pause_queue, queue_controls, resume_queue, scale_queue
from ._cron import (
    CronEntry,
    CronError,
    format_entry,
    parse_crontab,
    parse_entry,
    parse_expression,
)
from ._durations import format_duration, parse_duration
from ._insert import InsertError
from ._job import STATES, SUSPENDED, Job, JobError, LeaseLost
from ._maintenance import MaintenanceOptions, PassSummary, run_maintenance_pass
from ._migrations import (
    LATEST_VERSION,
    OBAN_VERSION,
    MigrationError,
    migrate_down,
    migrate_up,
)
from ._results import Cancel, Discard, Result, Snooze
from ._runner import Runner, RunnerOptions
from ._sqlfiles import check_prefix
from ._sqlfiles import load as load_sql
from ._telemetry import attach as attach_telemetry
from ._telemetry import detach as detach_telemetry
from ._unique import Unique
from ._worker import UnknownWorker, Worker, default_backoff
from .inspection import get_job, oldest_available, queue_counts, recent_jobs
from .testing import Testing, perform_job

__all__ = [
    "LATEST_VERSION",
    "OBAN_VERSION",
    "STATES",
    "SUSPENDED",
    "Cancel",
    "Client",
    "ConfigError",
    "CronEntry",
    "CronError",
    "Discard",
    "InsertError",
    "Job",
    "JobError",
    "LeaseLost",
    "MaintenanceOptions",
    "MigrationError",
    "PassSummary",
    "QueueControl",
    "Result",
    "Runner",
    "RunnerOptions",
    "Snooze",
    "Testing",
    "Unique",
    "UnknownWorker",
    "Worker",
    "attach_telemetry",
    "check_prefix",
    "default_backoff",
    "detach_telemetry",
    "format_duration",
    "format_entry",
    "get_job",
    "load_sql",
    "migrate_down",
    "migrate_up",
    "oldest_available",
    "parse_crontab",
    "parse_duration",
    "parse_entry",
    "parse_expression",
    "pause_queue",
    "perform_job",
    "queue_controls",
    "queue_counts",
    "recent_jobs",
    "resume_queue",
    "run_maintenance_pass",
    "scale_queue",
]
