"""Hostile files against piiq's extraction bounds: time and peak memory of the child process.

    .venv/bin/python bench/file_bounds.py

The review's case first: a DOCX of about 200 KB whose document.xml expands to 60 MB (it
took 53 s and 2.4 GB before). Then the same file with each earlier bound switched off in
turn, so the next one is measured: the compression-ratio check, the text limit, the
per-part cap, the clock. Peak RSS is the child's (RUSAGE_CHILDREN: the largest child so
far, so each row runs in its own bench process).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.support

CASES = {
    "as shipped (ratio check)": {},
    "no ratio check (text limit)": {"max_ratio": 10**6},
    "no ratio, no text limit (20 MiB part cap)": {"max_ratio": 10**6, "max_text_chars": 10**9},
    "no ratio, text or part limit (all 60 MB)": {
        "max_ratio": 10**6,
        "max_text_chars": 10**9,
        "max_part_bytes": 10**9,
    },
}


def one(limits: dict[str, int]) -> None:
    from piiq.filetext import Limits, extract_text
    from tests.support import documents

    data = documents.expanding_docx(60_000_000, secret="ssn 536-22-1894")
    started = time.monotonic()
    result = extract_text("big.docx", data, Limits(**limits))
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"bytes": len(data), "s": elapsed, "peak_mb": peak,
                      "status": result.status, "reason": result.reason}))  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1:
        one(json.loads(sys.argv[1]))
        return
    print(f"{'case':44} {'file':>8} {'time':>7} {'child RSS':>10}  outcome")
    for name, limits in CASES.items():
        out = subprocess.run(
            [sys.executable, __file__, json.dumps(limits)], capture_output=True, text=True
        ).stdout
        row = json.loads(out)
        print(f"{name:44} {row['bytes'] / 1024:6.0f}KB {row['s']:6.1f}s {row['peak_mb']:8.0f}MB"
              f"  {row['status']} ({row['reason']})")  # fmt: skip


if __name__ == "__main__":
    main()
