"""Signals the runner gives tests, so that they wait for what happened instead of
sleeping (River's testsignal).

Off by default: an emit is then one attribute test, and nothing is kept (a part that
would build a value per emit checks ``signal.on`` first). A test turns
them on before ``run()`` (``runner.signals.enable()``; the test helpers do) and awaits
them::

    await runner.signals.listening.wait()
    fetched = await runner.signals.fetched.wait(lambda f: f.queue == "events")

Values are kept from ``enable()`` on, in order, so a signal emitted before the test waits
is not missed; ``wait`` consumes values up to and including the one it returns.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Fetched(NamedTuple):
    queue: str
    ids: list[int]  # the jobs leased, in the order they start
    wanted: int  # the free slots the fetch asked for


class Signal(Generic[T]):
    """One kind of event: emitted by a part of the runner, awaited by a test."""

    __slots__ = ("_changed", "_values", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._values: deque[T] | None = None
        self._changed: asyncio.Event | None = None

    def enable(self) -> None:
        self._values = deque()
        self._changed = asyncio.Event()

    @property
    def on(self) -> bool:
        """Whether anyone listens: check before building a value that costs something."""
        return self._values is not None

    def emit(self, value: T) -> None:
        if self._values is not None:
            self._values.append(value)
            assert self._changed is not None
            self._changed.set()

    async def wait(self, until: Callable[[T], bool] | None = None, within: float = 10.0) -> T:
        """The next value (the next one ``until`` accepts), waiting at most ``within`` s."""
        if self._values is None or self._changed is None:
            raise RuntimeError(f"signal {self.name!r}: call runner.signals.enable() first")
        values, changed = self._values, self._changed
        async with asyncio.timeout(within):
            while True:
                while values:
                    value = values.popleft()
                    if until is None or until(value):
                        return value
                changed.clear()
                await changed.wait()

    def clear(self) -> None:
        """Forget the values emitted so far (wait for a new one from here on)."""
        if self._values is not None:
            self._values.clear()


class Signals:
    """Everything the runner reports to tests."""

    def __init__(self) -> None:
        self.listening: Signal[None] = Signal("listening")  # the notifier LISTENs (again)
        # piiq_queues read and applied (False: the table is missing, see `piiq migrate`)
        self.controls_read: Signal[bool] = Signal("controls_read")
        self.fetched: Signal[Fetched] = Signal("fetched")  # a fetch returned
        # A producer's wake-up that started no fetch: (queue, why): paused, full (no free
        # slot), fetching (enough fetches under way), no work (the last one came back short)
        self.skipped: Signal[tuple[str, str]] = Signal("skipped")
        self.acked: Signal[list[int]] = Signal("acked")  # outcomes written (job ids)
        self.staged: Signal[dict[str, int]] = Signal("staged")  # a stage pass (per queue)
        self.heartbeat: Signal[None] = Signal("heartbeat")  # heartbeat_at moved on
        self.rescued: Signal[Any] = Signal("rescued")  # a rescue pass (its PassSummary)
        self.reconciled: Signal[str] = Signal("reconciled")  # a queue's leases checked
        self.cron_evaluated: Signal[Any] = Signal("cron_evaluated")  # a tick (its datetime)

    def enable(self) -> Signals:
        for signal in vars(self).values():
            signal.enable()
        return self
