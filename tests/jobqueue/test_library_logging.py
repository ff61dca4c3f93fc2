"""The queue logs through the standard library; piiq's structlog set-up renders those records
as the same JSON lines (event, level, timestamp and the fields as keys)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from piiq.queue import attach_telemetry, detach_telemetry
from piiq.queue._background import Background
from piiq.queue._telemetry import emit
from tests.support.log_capture import without_clock
from tests.support.pii_samples import CARD


def _broken_handler(event: str, data: dict[str, Any]) -> None:
    raise RuntimeError("a metrics bug")


def test_a_queue_record_is_a_json_line_with_its_fields_as_keys(log_lines) -> None:
    mark = len(log_lines.lines)
    attach_telemetry(_broken_handler)
    try:
        emit("job.start", queue="q", worker="W", job_id=1, attempt=1)
    finally:
        detach_telemetry(_broken_handler)
    [line] = [e for e in log_lines.since(mark) if e["event"] == "telemetry.handler_detached"]
    assert line["level"] == "error" and line["logger"] == "piiq.queue._telemetry"
    assert (line["handler"], line["event_name"], line["error"]) == (
        "_broken_handler",
        "job.start",
        "RuntimeError",
    )
    assert line["timestamp"].endswith("Z")


def test_without_structlog_the_fields_are_attributes_of_the_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attach_telemetry(_broken_handler)
    with caplog.at_level(logging.ERROR, logger="piiq.queue"):
        emit("job.start", queue="q", worker="W", job_id=1, attempt=1)
    detach_telemetry(_broken_handler)
    [record] = [r for r in caplog.records if r.getMessage() == "telemetry.handler_detached"]
    assert record.name == "piiq.queue._telemetry" and record.event_name == "job.start"  # type: ignore[attr-defined]
    assert record.pathname.endswith("_telemetry.py")  # the module that logged, not the helper


async def test_a_failed_part_is_logged_without_its_message(log_lines) -> None:
    class Broken(Background):
        name = "broken"

        async def run(self) -> None:
            raise ValueError(f"could not ack a job with args {{'text': 'card {CARD}'}}")

    mark = len(log_lines.lines)
    part = Broken()
    part.start()
    await asyncio.sleep(0)  # let it run and fail
    await part.stop()
    [line] = [e for e in log_lines.since(mark) if e["event"] == "worker.part_failed"]
    assert (line["part"], line["error"]) == ("broken", "ValueError")
    assert line["at"].startswith("test_library_logging.py:") and line["at"].endswith(" in run")
    assert "4556" not in without_clock("\n".join(log_lines.lines[mark:]))
