"""Running the `piiq` CLI as a user does, for the tests of its messages."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from piiq.runtime.ports import free_port


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


@dataclass
class IngressProcess:
    url: str
    process: subprocess.Popen[str]
    output: str = ""  # stdout and stderr, once it has stopped


@contextlib.contextmanager
def ingress_process(
    piiq_command: list[str], env: dict[str, str], *args: str
) -> Iterator[IngressProcess]:
    """`piiq ingress ARGS` on a free port as a pod runs it, once /readyz answers; SIGTERM
    at the end, its output kept."""
    port = free_port()
    process = subprocess.Popen(
        [*piiq_command, "ingress", *args, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ingress = IngressProcess(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(ingress.url + "/readyz", timeout=1):
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "ingress not ready in 20 s"
                time.sleep(0.1)
        yield ingress
    finally:
        process.terminate()
        ingress.output = process.communicate(timeout=20)[0]
