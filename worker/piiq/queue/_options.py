"""What a runner is told: its queues with their limits, and its timing knobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from ._client import ConfigError
from ._cron import CronEntry
from ._maintenance import MaintenanceOptions


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Timing knobs. The defaults suit most deployments."""

    poll_interval: float = 1.0  # fetch even without a notification this often
    stage_interval: float = 1.0  # make due scheduled/retryable jobs available this often
    stage_limit: int = 5000
    shutdown_grace: float = 15.0  # on stop, running jobs get this long to finish
    ack_interval: float = 0.002  # gather outcomes this long before writing them
    ack_batch: int = 1000
    dispatch_cooldown: float = 0.0  # wait this long after a wake-up, to fetch for more slots
    parallel_fetches: int = 2  # fetches of one queue in flight at once (slots freed meanwhile)
    reconnect_max: float = 5.0  # longest pause between reconnection attempts
    # How often this process says it is alive, on its own connection, which also holds
    # the session lock that tells rescuers the process lives (see rescue_jobs.sql).
    heartbeat_interval: float = 1.0
    # How often each producer checks that every job executing under its name is one it
    # holds (an ack rolled back by a database crash leaves one it does not).
    reconcile_interval: float = 10.0
    # In-process maintenance: by default only fast rescue of dead workers' jobs; pruning
    # and the time-based Lifeline usually run in the maintenance CronJob.
    maintenance: MaintenanceOptions | None = field(
        default_factory=lambda: MaintenanceOptions(prune_max_age=None, rescue_after=None)
    )
    rescue_interval: float = 1.0
    prune_interval: float = 60.0
    # Read paused and scaled queues (piiq_queues) this often even without a notification.
    control_interval: float = 1.0
    # Periodic jobs (Oban's Cron plugin): entries or crontab lines (see cron.py). Every
    # runner with a crontab inserts the due jobs at each minute; each (entry, tick) gets
    # one job however many runners do. The clock is read this often (no database query).
    crontab: tuple[CronEntry | str, ...] = ()
    cron_interval: float = 1.0


class QueueLimits(NamedTuple):
    limit: int  # jobs at once in this process
    global_limit: int | None = None  # jobs at once over every process; None: no such limit


def parse_queues(
    specs: Mapping[str, int | tuple[int, int | None]] | list[str],
) -> dict[str, QueueLimits]:
    """Read ``{"events": 20}``, ``{"events": (8, 20)}`` or ``["events=8/20", "pii_detection=5"]``.

    ``NAME=N`` runs at most N jobs of the queue at once in this process; ``NAME=N/G``
    also at most G over every process serving the queue (the global limit).
    """
    if isinstance(specs, Mapping):
        items = [(name, v if isinstance(v, tuple) else (v, None)) for name, v in specs.items()]
    else:
        items = [_parse_spec(spec) for spec in specs]
    queues: dict[str, QueueLimits] = {}
    for name, (limit, global_limit) in items:
        if not name or len(name) > 127:
            raise ConfigError(f"queue name {name!r} must be 1 to 127 characters")
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"queue {name!r}: concurrency {limit!r} must be 1 or more")
        if global_limit is not None and (not isinstance(global_limit, int) or global_limit < 1):
            raise ConfigError(f"queue {name!r}: global limit {global_limit!r} must be 1 or more")
        queues[name] = QueueLimits(limit, global_limit)
    if not queues:
        raise ConfigError("no queues to run: give at least one, e.g. --queue events=20")
    return queues


def _parse_spec(spec: str) -> tuple[str, tuple[int, int | None]]:
    name, sep, value = spec.partition("=")
    local, slash, global_ = value.partition("/")
    numbers = [local.strip(), *([global_.strip()] if slash else [])]
    if not sep or not all(n.isdigit() for n in numbers):
        raise ConfigError(
            f"queue {spec!r} must look like NAME=CONCURRENCY or NAME=CONCURRENCY/GLOBAL, "
            "e.g. events=20 or events=8/20"
        )
    return name.strip(), (int(numbers[0]), int(numbers[1]) if slash else None)


def parse_queue_limits(specs: Mapping[str, int] | list[str]) -> dict[str, int]:
    """The per-process limits of ``parse_queues``: ``{"events": 8}`` for ``events=8/20``."""
    return {name: q.limit for name, q in parse_queues(specs).items()}
