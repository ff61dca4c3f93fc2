"""Wake producers on Oban's insert notifications, and the controller on queue control
changes, over one LISTEN connection of its own (reconnected with backoff)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from ._background import Background
from ._log import get_logger
from ._queries import DB_ERRORS, Queries
from ._signals import Signals

log = get_logger(__name__)


class Notifier(Background):
    name = "notifier"

    def __init__(
        self,
        queries: Queries,
        *,
        insert_channel: str,
        control_channel: str,
        on_insert: Callable[[str], None],
        on_control: Callable[[], None],
        on_listening: Callable[[], None],
        reconnect_max: float,
        signals: Signals,
    ) -> None:
        self._queries = queries
        self._insert_channel = insert_channel
        self._control_channel = control_channel
        self._on_insert = on_insert  # a queue got jobs
        self._on_control = on_control  # a queue was paused, resumed or scaled
        self._on_listening = on_listening  # (again): catch up on what was missed meanwhile
        self._reconnect_max = reconnect_max
        self._signals = signals

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with await self._queries.connect("worker") as conn:
                    channels = (self._insert_channel, self._control_channel)
                    await self._queries.listen(conn, channels)
                    backoff = 0.1
                    self._on_listening()
                    self._signals.listening.emit(None)
                    async for notice in conn.notifies():
                        if notice.channel == self._control_channel:
                            self._on_control()
                        else:
                            self._dispatch(notice.payload)
            except DB_ERRORS as exc:
                log.warning("notifier.disconnected", error=type(exc).__name__, retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._reconnect_max)

    def _dispatch(self, payload: str) -> None:
        try:
            queue = json.loads(payload).get("queue")
        except (ValueError, AttributeError):
            return
        if isinstance(queue, str):
            self._on_insert(queue)
