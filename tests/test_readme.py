"""The README's worker and its test run as written (through the pytest plugin)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_worker_and_test_pass(tmp_path: Path, queue_database_url: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    worker = next(b for b in blocks if "class SlackMessageWorker" in b)
    test = next(b for b in blocks if "def test_one_job_per_slack_event" in b)
    (tmp_path / "readme_worker.py").write_text(worker)
    (tmp_path / "test_readme_example.py").write_text(
        "from piiq.queue import Snooze\nfrom readme_worker import SlackMessageWorker\n" + test
    )
    env = dict(os.environ, PIIQ_TEST_DATABASE_URL=queue_database_url, PYTHONPATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_license_file_is_the_one_pyproject_declares() -> None:
    import tomllib

    root = README.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (root / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_nothing_shipped_points_outside_the_repository() -> None:
    """Docs, scripts and code name only paths a user's clone has."""
    root = README.parent
    shipped = [root / "README.md", root / "Dockerfile", root / "Makefile"]
    for folder in ("docs", "scripts", "worker", "operator", "charts", "examples", "bench"):
        shipped += [p for p in (root / folder).rglob("*") if p.is_file() and p.suffix != ".pyc"]
    outside = re.compile(r"\.\./shared|/work/|shared/research")
    offenders = [
        str(p.relative_to(root)) for p in shipped if outside.search(p.read_text(errors="ignore"))
    ]
    assert not offenders, offenders


def test_docs_queue_own_workers_example_runs(fresh_database: str, tmp_path: Path) -> None:
    docs = (README.parent / "docs" / "queue.md").read_text()
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", docs, re.S) if "SendWelcome" in b]
    (tmp_path / "example.py").write_text(example)
    result = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("PIIQ_")}
        | {"DATABASE_URL": fresh_database},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # perform prints on a job thread: its line may land inside a log line of the loop
    mails = re.findall(r"welcome mail for user \d+", result.stdout)
    assert sorted(mails) == [f"welcome mail for user {n}" for n in range(3)], result.stdout
