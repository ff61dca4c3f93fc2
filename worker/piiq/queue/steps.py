"""Run one piece of database logic on a sync or an async psycopg connection.

Logic that needs several statements is written once as a generator that yields
``(sql, params)`` and receives the fetched rows; ``run_sync`` and ``run_async`` drive it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")
Step = tuple[str, dict[str, Any]]
Steps = Generator[Step, list[tuple[Any, ...]], T]


def run_sync(conn: psycopg.Connection[Any], steps: Steps[T]) -> T:
    try:
        sql, params = next(steps)
        while True:
            cur = conn.execute(sql, params, binary=True)  # binary results parse faster
            rows = cur.fetchall() if cur.description else []
            sql, params = steps.send(rows)
    except StopIteration as done:
        return done.value


async def run_async(conn: psycopg.AsyncConnection[Any], steps: Steps[T]) -> T:
    try:
        sql, params = next(steps)
        while True:
            cur = await conn.execute(sql, params, binary=True)
            rows = await cur.fetchall() if cur.description else []
            sql, params = steps.send(rows)
    except StopIteration as done:
        return done.value
