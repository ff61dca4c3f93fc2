"""`piiq scan` as a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def piiq_scan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "piiq", "scan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="160"),
    )


def test_scan_text_json_hides_values() -> None:
    done = piiq_scan("--json", "my ssn is 536-22-1894, call 212-555-0147")
    assert done.returncode == 2  # delete
    result = json.loads(done.stdout)
    assert result["decision"]["action"] == "delete"
    assert [f["type"] for f in result["findings"]] == ["US_SSN", "PHONE_NUMBER"]
    assert result["findings"][0]["start"] == 10 and result["findings"][0]["end"] == 21
    assert "536-22-1894" not in done.stdout + done.stderr


def test_scan_show_values_and_file(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nAda,ada@acme.io\n")
    done = piiq_scan("--file", str(path), "--show-values")
    assert done.returncode == 2, done.stderr
    assert "ada@acme.io" in done.stdout and "people.csv: csv, scanned" in done.stdout


def test_scan_clean_text_allows() -> None:
    done = piiq_scan("the JSON parser in app.py fails on Travis-ci")
    assert done.returncode == 0 and "decision: allow" in done.stdout


def test_scan_needs_text_or_file() -> None:
    done = piiq_scan()
    assert done.returncode == 2 and "give a text" in done.stderr
