"""Run one piece of database logic on a sync or an async psycopg connection.

Logic that needs several statements is written once as a generator that yields
``(sql, params)`` and receives the fetched rows; ``run_sync`` and ``run_async`` drive it.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CopyRows:
    """A step that streams rows with COPY ... FROM STDIN instead of running a query."""

    sql: str
    rows: Sequence[Sequence[Any]]


Step = tuple[str, dict[str, Any]] | CopyRows
Steps = Generator[Step, list[tuple[Any, ...]], T]


def run_sync(conn: psycopg.Connection[Any], steps: Steps[T]) -> T:
    try:
        step = next(steps)
        while True:
            rows: list[tuple[Any, ...]] = []
            if isinstance(step, CopyRows):
                with conn.cursor().copy(step.sql) as copy:
                    for row in step.rows:
                        copy.write_row(row)
            else:
                cur = conn.execute(step[0], step[1], binary=True)  # binary results parse faster
                rows = cur.fetchall() if cur.description else []
            step = steps.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result


async def run_async(conn: psycopg.AsyncConnection[Any], steps: Steps[T]) -> T:
    try:
        step = next(steps)
        while True:
            rows: list[tuple[Any, ...]] = []
            if isinstance(step, CopyRows):
                async with conn.cursor().copy(step.sql) as copy:
                    for row in step.rows:
                        await copy.write_row(row)
            else:
                cur = await conn.execute(step[0], step[1], binary=True)
                rows = await cur.fetchall() if cur.description else []
            step = steps.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result
