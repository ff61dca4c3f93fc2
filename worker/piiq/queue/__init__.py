"""An Oban-compatible job queue on PostgreSQL (schema version 12), usable on its own.

from piiq.queue import Client, Worker

class SlackMessageWorker(Worker):
    queue = "events"
    max_attempts = 3

    def perform(self, job): ...

client = Client("postgresql://...")
client.insert(SlackMessageWorker.new({"channel": "C1", "ts": "1.2"}))
"""

from .client import Client, ConfigError
from .control import QueueControl, pause_queue, queue_controls, resume_queue, scale_queue
from .cron import CronEntry, CronError, parse_entry, parse_expression
from .insert import InsertError
from .job import Job, JobError
from .maintenance import MaintenanceOptions, PassSummary
from .migrations import (
    LATEST_VERSION,
    OBAN_VERSION,
    MigrationError,
    migrate_down,
    migrate_up,
)
from .results import Cancel, Discard, Result, Snooze
from .runner import Runner, RunnerOptions
from .testing import Testing, perform_job
from .unique import Unique
from .worker import UnknownWorker, Worker, default_backoff

__all__ = [
    "LATEST_VERSION",
    "OBAN_VERSION",
    "Cancel",
    "Client",
    "ConfigError",
    "CronEntry",
    "CronError",
    "Discard",
    "InsertError",
    "Job",
    "JobError",
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
    "default_backoff",
    "migrate_down",
    "migrate_up",
    "parse_entry",
    "parse_expression",
    "pause_queue",
    "perform_job",
    "queue_controls",
    "resume_queue",
    "scale_queue",
]
