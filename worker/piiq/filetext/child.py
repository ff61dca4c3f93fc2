"""Extraction in a child process: ``python -m piiq.filetext.child``.

A hostile file (a zip bomb, a PDF content-stream bomb, a parser stuck in a loop) costs
the child, never the worker: the child limits its own address space (RLIMIT_AS) before
it reads the file, stops itself at ``max_seconds`` keeping what it read, and is killed
with its whole process group (Tesseract too) ``kill_after_seconds`` later if it has not
answered. The child gets no ``PIIQ_*`` settings (no tokens, no database URL) and its
stderr, which a parser may fill with quotes of the file, is dropped.

Protocol: stdin is one JSON line (name, limits) then the file's bytes; stdout is one JSON
object, the ``Extraction``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
from dataclasses import asdict

from .extract import Extraction, extract_here, not_scanned, too_large
from .limits import Limits, MiB
from .sniff import sniff


def extract_text(name: str, data: bytes, limits: Limits | None = None) -> Extraction:
    """``name``'s text, read in a child process within ``limits``; never raises for a bad
    file: every failure is an outcome (not scanned, and why)."""
    limits = limits or Limits()
    kind = sniff(name, data, look_inside=False)
    if len(data) > limits.max_bytes:
        return too_large(name, kind, len(data), limits)
    header = json.dumps({"name": name, "limits": asdict(limits)}).encode() + b"\n"
    process = subprocess.Popen(
        [sys.executable, "-m", "piiq.filetext.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_child_env(),
        start_new_session=True,  # its own process group: a kill takes Tesseract too
    )
    try:
        out, _ = process.communicate(header + data, timeout=limits.hard_timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        process.communicate()
        reason = f"extraction exceeded {limits.hard_timeout:g} s and was stopped"
        return not_scanned(name, kind, reason)
    finally:
        _kill(process)  # nothing of it outlives the call
    if process.returncode != 0:
        return not_scanned(name, kind, _died(process.returncode, limits))
    try:
        return Extraction(**json.loads(out))
    except (ValueError, TypeError):
        return not_scanned(name, kind, "extraction gave no answer")


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PIIQ_")}


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _died(returncode: int, limits: Limits) -> str:
    if returncode == 3:
        return f"extraction needed more than {limits.max_memory_bytes // MiB} MiB of memory"
    if returncode < 0:
        return f"extraction was killed ({signal.Signals(-returncode).name})"
    return f"extraction failed (exit status {returncode})"


def main() -> None:
    stdin = sys.stdin.buffer
    header = json.loads(stdin.readline())
    limits = Limits(**header["limits"])
    resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))
    try:
        result = extract_here(header["name"], stdin.read(), limits)
        answer = json.dumps(asdict(result))
    except MemoryError:
        os._exit(3)
    sys.stdout.write(answer)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
