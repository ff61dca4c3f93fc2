"""The notifier (_notifier.py) on a real LISTEN connection: inserts wake their queue,
control changes reach the controller, and a lost connection is listened on again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from piiq.queue import Client, Job, pause_queue
from piiq.queue._control import control_channel
from piiq.queue._notifier import Notifier
from piiq.queue._queries import Queries
from piiq.queue._signals import Signals

from .test_maintenance import sql


class Heard:
    def __init__(self) -> None:
        self.inserts: asyncio.Queue[str] = asyncio.Queue()
        self.controls = 0
        self.listening = 0


@pytest.fixture
async def heard(queries: Queries, queue_client: Client, signals: Signals) -> AsyncIterator[Heard]:
    heard = Heard()
    notifier = Notifier(
        queries,
        insert_channel=queue_client.insert_channel,
        control_channel=control_channel(queue_client.prefix),
        on_insert=heard.inserts.put_nowait,
        on_control=lambda: setattr(heard, "controls", heard.controls + 1),
        on_listening=lambda: setattr(heard, "listening", heard.listening + 1),
        reconnect_max=0.2,
        signals=signals,
    )
    notifier.start()
    await signals.listening.wait()
    yield heard
    await notifier.stop()


async def test_an_insert_wakes_its_queue(heard: Heard, queue_client: Client) -> None:
    await asyncio.to_thread(queue_client.insert, Job(worker="app.W", queue="events"))
    assert await asyncio.wait_for(heard.inserts.get(), 5) == "events"
    assert heard.listening == 1


async def test_a_control_change_reaches_the_controller(heard: Heard, queue_client: Client) -> None:
    def pause() -> None:
        with queue_client.connect(autocommit=True) as conn:
            pause_queue(conn, "events", prefix=queue_client.prefix)

    await asyncio.to_thread(pause)
    await asyncio.to_thread(queue_client.insert, Job(worker="app.W", queue="after"))
    assert await asyncio.wait_for(heard.inserts.get(), 5) == "after"  # in order: control first
    assert heard.controls == 1


async def test_a_lost_connection_is_listened_on_again(
    heard: Heard, queries: Queries, queue_client: Client, signals: Signals
) -> None:
    """Anything inserted while deaf is caught up on: ``on_listening`` runs again."""
    cut = sql(
        queue_client,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND query LIKE 'LISTEN%%'",
        (f"piiq worker {queries.node}",),
    )
    assert cut == [(True,)]
    await signals.listening.wait()
    assert heard.listening == 2
    await asyncio.to_thread(queue_client.insert, Job(worker="app.W", queue="events"))
    assert await asyncio.wait_for(heard.inserts.get(), 5) == "events"
