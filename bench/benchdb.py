"""The benchmarks' PostgreSQL server: ``PIIQ_BENCH_DATABASE_URL``, else the tests' server
(``PIIQ_TEST_DATABASE_URL``), else an embedded one (``piiq.queue.devdb``, started at most
once per process). The benchmarks' choice, not the queue library's: it reads no variable
of its own."""

from __future__ import annotations

import os

from piiq.queue import devdb


def bench_database_url() -> str:
    return os.environ.get("PIIQ_BENCH_DATABASE_URL") or devdb.database_url("PIIQ_TEST_DATABASE_URL")
