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
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["piiq.queue.pytest_plugin"]\n')
    (tmp_path / "test_readme_example.py").write_text(
        "from piiq.queue import Snooze\nfrom readme_worker import SlackMessageWorker\n" + test
    )
    env = dict(os.environ, TEST_DATABASE_URL=queue_database_url, PYTHONPATH=str(tmp_path))
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


SHIPPED_FOLDERS = ("docs", "scripts", "worker", "operator", "charts", "examples", "bench")


def shipped_files(*folders: str) -> list[Path]:
    """The top-level files a clone has and every file under ``folders``, this test file
    aside (it names what it looks for)."""
    root = README.parent
    files = [root / name for name in ("README.md", "Dockerfile", "Makefile", "pyproject.toml")]
    for folder in folders:
        files += [p for p in (root / folder).rglob("*") if p.is_file() and p.suffix != ".pyc"]
    return [p for p in files if p != Path(__file__)]


def offenders(pattern: str, files: list[Path]) -> list[str]:
    found = re.compile(pattern)
    return [
        str(p.relative_to(README.parent))
        for p in files
        if found.search(p.read_text(errors="ignore"))
    ]


def test_nothing_shipped_points_outside_the_repository() -> None:
    """Docs, scripts, code and tests name only paths a user's clone has."""
    files = shipped_files(*SHIPPED_FOLDERS, "tests")
    assert README.parent / "tests/support/k8s_emulator.py" in files
    assert not offenders(r"\.\./shared|/work/|shared/research", files)


def test_nothing_shipped_names_the_placeholder_project() -> None:
    """No `example/piiq` where a real value belongs: the chart's home, sources and icon, the
    CRD's image example, the scripts' images."""
    files = shipped_files(*SHIPPED_FOLDERS, "tests")
    assert README.parent / "charts/piiq/Chart.yaml" in files
    assert not offenders(r"example/piiq", files)


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
    # Not line by line: print() in a worker thread and the log lines interleave their writes,
    # so a log line's timestamp can follow a user id directly ("user 12026-12-05 ..."): the
    # example's ids are one digit each.
    users = re.findall(r"welcome mail for user (\d)", result.stdout)
    assert sorted(users) == ["0", "1", "2"], result.stdout
