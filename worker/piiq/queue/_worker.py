"""Workers: classes with a ``perform(job)``, named in the ``worker`` column by import path."""

from __future__ import annotations

import importlib
import inspect
import random
import traceback
from collections.abc import Coroutine, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from ._job import Job, schedule_time
from ._results import Result
from ._unique import Unique

_REGISTRY: dict[str, type[Worker]] = {}


class UnknownWorker(LookupError):
    """No worker class answers to a job's ``worker`` name."""


class Worker:
    """Base class for workers, in the style of an Oban worker::

        class SlackMessageWorker(Worker):
            queue = "events"
            max_attempts = 3

            def perform(self, job: Job) -> Result | None: ...

    ``perform`` may be ``def`` (run in a thread, never on the event loop) or ``async def``.
    The ``worker`` column holds ``name``: the class's import path unless set explicitly,
    which is how a worker process finds the class for any job.
    """

    name: ClassVar[str]
    queue: ClassVar[str] = "default"
    max_attempts: ClassVar[int] = 20
    priority: ClassVar[int] = 0
    tags: ClassVar[tuple[str, ...]] = ()
    unique: ClassVar[Unique | dict[str, Any] | Iterable[str] | bool | None] = None
    # Seconds one attempt may run (None: no limit); per job, override ``timeout_for``.
    timeout: ClassVar[float | None] = None
    # Args fields that may hold personal data: their values are kept out of ``errors``
    # (and, by default, exception messages are), and the fields are replaced by the word
    # ``scrubbed`` once the job is finished (recorded in ``meta.scrub``).
    sensitive_args: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = f"{cls.__module__}.{cls.__qualname__}"
        cls._async = inspect.iscoroutinefunction(cls.perform)  # asked once per job: cache it
        _REGISTRY[cls.name] = cls

    @classmethod
    def new(
        cls,
        args: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        tags: Iterable[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        scheduled_at: datetime | None = None,
        schedule_in: float | timedelta | None = None,
        unique: Unique | dict[str, Any] | Iterable[str] | bool | None = None,
    ) -> Job:
        """A validated job for this worker, ready for ``insert``; options override the class."""
        if type(args) is dict:
            job_args: Any = dict(args)
        elif args is None:
            job_args = {}
        else:  # a Mapping is copied; anything else is left for validate() to name
            job_args = dict(args) if isinstance(args, Mapping) else args
        unique = unique if unique is not None else cls.unique
        job = Job(
            worker=cls.name,
            args=job_args,
            queue=queue if queue is not None else cls.queue,
            priority=priority if priority is not None else cls.priority,
            max_attempts=max_attempts if max_attempts is not None else cls.max_attempts,
            tags=tuple(tags) if tags is not None else cls.tags,
            meta=_job_meta(meta, cls.sensitive_args),
            scheduled_at=(
                None
                if scheduled_at is None and schedule_in is None
                else schedule_time(scheduled_at, schedule_in)
            ),
            unique=None if unique is None else Unique.coerce(unique),
        )
        return job.validate()

    def describe_error(self, exc: BaseException) -> str:
        """The text stored in the job's ``errors`` for ``exc``.

        A worker with ``sensitive_args`` gets where it failed (the traceback's frames) and
        the exception's type, never its message: a parser or a library may quote its
        input there, in forms (reprs, upper case, escapes) that removing the exact values
        misses. Other workers get the whole traceback. Values of ``sensitive_args`` are
        removed from the text in any case.
        """
        if self.sensitive_args:
            where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
            return f"{where}\n{type(exc).__name__} (message withheld: it may quote personal data)"
        return "".join(traceback.format_exception(exc)).rstrip()

    def timeout_for(self, job: Job) -> float | None:
        """Seconds this attempt of ``job`` may run (Oban's ``timeout/1``): ``timeout``."""
        return type(self).timeout

    def backoff(self, job: Job) -> float:
        """Seconds before the next attempt after a failure (Oban's default curve)."""
        return default_backoff(job.attempt, job.max_attempts)

    def perform(self, job: Job) -> Result | Coroutine[Any, Any, Result]:
        raise NotImplementedError(f"{type(self).__name__}.perform is not implemented")

    _async: ClassVar[bool] = False

    @classmethod
    def is_async(cls) -> bool:
        return cls._async


def _job_meta(meta: Mapping[str, Any] | None, sensitive_args: tuple[str, ...]) -> dict[str, Any]:
    job_meta = dict(meta) if meta else {}
    if sensitive_args:
        job_meta["scrub"] = list(sensitive_args)
    return job_meta


def default_backoff(attempt: int, max_attempts: int, *, rand: random.Random | None = None) -> float:
    """15 + 2^attempt seconds plus 0-10 % jitter; long retry budgets are rescaled to 20 steps."""
    step = attempt if max_attempts <= 20 else round(attempt / max_attempts * 20)
    base: float = 15 + 2 ** min(step, 100)
    return base + (rand.random() if rand else random.random()) * 0.1 * base


def resolve_worker(name: str) -> type[Worker]:
    """Find the worker class for a ``worker`` column value, importing its module if needed."""
    found = _REGISTRY.get(name)
    if found is not None:
        return found
    module_name, _, attr = name.rpartition(".")
    why = "no Worker subclass is registered under that name"
    if module_name:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a missing module, or one that fails while importing
            module = None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            why = f"importing {module_name!r} failed: {type(exc).__name__}: {first}"
        if module is not None:
            found = _REGISTRY.get(name)
            candidate = found or getattr(module, attr, None)
            if isinstance(candidate, type) and issubclass(candidate, Worker):
                return candidate
            why = f"{module_name!r} has no Worker subclass named {attr!r}"
    raise UnknownWorker(
        f"unknown worker {name!r}: {why}; deploy the code that defines it (with --import "
        "where it is not importable by name) or fix the job's worker name"
    )
