"""`piiq scan` as a person runs it: decisions and errors have distinct exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import documents

SSN = "536-22-1894"


def piiq_scan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "piiq", "scan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="160"),
    )


def test_scan_text_json_hides_values() -> None:
    done = piiq_scan("--json", f"my ssn is {SSN}, call 212-555-0147")
    assert done.returncode == 2  # delete
    result = json.loads(done.stdout)
    assert result["decision"]["action"] == "delete" and result["exit_status"] == 2
    assert [f["type"] for f in result["findings"]] == ["US_SSN", "PHONE_NUMBER"]
    assert result["findings"][0]["start"] == 10 and result["findings"][0]["end"] == 21
    assert SSN not in done.stdout + done.stderr


def test_scan_show_values_and_file(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nAda,ada@acme.io\n")
    done = piiq_scan("--file", str(path), "--show-values")
    assert done.returncode == 2, done.stderr
    assert "ada@acme.io" in done.stdout and "people.csv: csv, scanned" in done.stdout


def test_scan_clean_text_allows() -> None:
    done = piiq_scan("the JSON parser in app.py fails on Travis-ci")
    assert done.returncode == 0 and "decision: allow" in done.stdout


@pytest.mark.parametrize(
    ("name", "data", "status", "reason"),
    [
        # Each of these said "decision: allow" and exited 0 before.
        ("notes.bin", bytes(range(256)) * 4, "not_scanned", "unsupported file type"),
        ("locked.pdf", documents.encrypted_pdf(), "not_scanned", "encrypted PDF"),
        (
            "bundle.zip",
            documents.archive({"notes.txt": b"agenda", "tool.exe": bytes(range(256)) * 4}),
            "partly_scanned",
            "tool.exe: unsupported file type",
        ),
    ],
)
def test_a_file_not_fully_read_exits_3_and_says_why(
    tmp_path: Path, name: str, data: bytes, status: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    done = piiq_scan("--file", str(path), "--json")
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    (file,) = result["files"]
    assert (result["outcome"], file["status"]) == (status, status) and reason in file["reason"]
    assert (file["action"], file["alert_admins"]) == ("warn", True)  # the default: alert
    text = piiq_scan("--file", str(path))
    assert text.returncode == 3
    assert f"{status.replace('_', ' ')}: the policy's unscannable setting (alert)" in text.stdout


def test_pii_in_a_partly_read_file_still_deletes(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    members = {"hr.txt": f"ssn {SSN}".encode(), "tool.exe": bytes(range(256)) * 4}
    path.write_bytes(documents.archive(members))
    done = piiq_scan("--file", str(path), "--json")
    assert (
        done.returncode == 2 and json.loads(done.stdout)["files"][0]["status"] == "partly_scanned"
    )


def test_the_file_name_is_scanned(tmp_path: Path) -> None:
    path = tmp_path / f"ssn {SSN}.txt"
    path.write_text("agenda: roadmap\n")
    done = piiq_scan("--file", str(path), "--json")
    assert done.returncode == 2
    assert json.loads(done.stdout)["findings"][0]["source"] == "file name"


def test_policy_and_recognizers_flags(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("entities:\n  US_SSN: {warn: 0.3}\nunscannable: delete\n")
    recognizers = tmp_path / "recognizers.yaml"
    recognizers.write_text(
        "recognizers:\n  - entity: EMPLOYEE_ID\n    patterns: [{regex: 'EMP-\\d{6}', score: 0.9}]\n"
        "    policy: {delete: 0.5}\n"
    )
    assert piiq_scan("--policy", str(policy), f"ssn {SSN}").returncode == 1  # warn now
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    done = piiq_scan("--policy", str(policy), "--file", str(binary), "--json")
    assert done.returncode == 3 and json.loads(done.stdout)["files"][0]["action"] == "delete"
    found = piiq_scan("--recognizers", str(recognizers), "--json", "badge EMP-123456")
    assert found.returncode == 2, found.stderr
    assert json.loads(found.stdout)["findings"][0]["type"] == "EMPLOYEE_ID"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ((), 64, "give a text"),
        (("--bogus", "x"), 64, "No such option '--bogus'"),
        (("--file",), 64, "Option '--file' requires an argument"),
        (("--file", "/nonexistent/report.pdf"), 66, "cannot read --file '/nonexistent/report.pdf'"),
        (("--policy", "/nonexistent/policy.yaml", "x"), 78, "cannot read policy file"),
    ],
)
def test_errors_exit_with_their_own_status(
    args: tuple[str, ...], status: int, message: str
) -> None:
    """Usage errors exited 2 before, the same as "delete"."""
    done = piiq_scan(*args)
    assert done.returncode == status and message in done.stderr
    assert "Traceback" not in done.stderr
    # one line naming the problem (click puts its usage and --help hint before a usage error)
    lines = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and not line.startswith(("Usage:", "Try '"))
    ]
    assert len(lines) == 1, done.stderr


def test_a_bad_unscannable_value_is_named(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("unscannable: ignore\n")
    done = piiq_scan("--policy", str(policy), "x")
    assert done.returncode == 78
    assert "unscannable must be one of delete, warn, alert" in done.stderr
    assert "got 'ignore'" in done.stderr


def test_a_quarantine_decision_exits_4(tmp_path: Path) -> None:
    policy = tmp_path / "hold.yaml"
    policy.write_text("entities:\n  US_SSN: {quarantine: 0.5}\n")
    done = piiq_scan("--json", "--policy", str(policy), f"my ssn is {SSN}")
    assert done.returncode == 4, done.stderr
    assert json.loads(done.stdout)["decision"]["action"] == "quarantine"


def test_help_documents_the_exit_statuses() -> None:
    done = piiq_scan("--help")
    text = " ".join(done.stdout.split())
    assert "0 allow, 1 warn, 2 delete, 3 a file not scanned or partly scanned" in text
    assert "64 usage" in text and "66 the --file cannot be read" in text and "78 the policy" in text


def test_the_detection_doc_gives_the_same_exit_statuses() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "detection.md").read_text()
    section = " ".join(doc.split("## `piiq scan`")[1].split("\n## ")[0].split())
    assert "0 allow, 1 warn, 2 delete; 3 a file not scanned or partly scanned" in section
    assert "64 usage" in section and "66 the `--file` cannot be read" in section
    assert "78 the policy, recognizers file or model cannot be loaded" in section
