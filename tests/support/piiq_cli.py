"""Running the `piiq` CLI as a user does, for the tests of its messages."""

from __future__ import annotations

import os
import subprocess
import sys


def run_piiq(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m piiq ARGS` with no PIIQ_* setting from the test run, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIIQ_")}
    return subprocess.run(
        [sys.executable, "-m", "piiq", *args],
        env=clean | {"COLUMNS": "200"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """The one line on stderr, no traceback (status 2: after click's usage and --help hint)."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    if status == 2:
        assert lines[0].startswith("Usage:"), result.stderr
        lines = lines[2:]
    assert len(lines) == 1, result.stderr
    return lines[0]
