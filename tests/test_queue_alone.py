"""`pip install piiq` is the job queue alone: the wheel built from this repository, installed
with --no-deps into a fresh venv beside only psycopg (binary, pool), passes
`pip check`, inserts and performs a job against the test database, and imports none of
Presidio, spaCy, kopf, kubernetes, slack_sdk or click. Offline: the build backend comes
from .venv/wheelhouse (make .venv/.installed fills it), the dependencies from .venv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
# The queue's dependencies, as installed in the project's venv (packages and their metadata).
QUEUE_DEPENDENCIES = ("psycopg", "psycopg_binary", "psycopg_pool", "typing_extensions")
APPLICATION = ("presidio_analyzer", "presidio_anonymizer", "spacy", "kopf", "kubernetes")
APPLICATION += ("slack_sdk", "click", "pydantic_settings", "cryptography", "aiohttp")

SCRIPT = """
import json, sys
from piiq.queue import Client, Testing, Worker, migrate_up

class Hello(Worker):
    queue = "alone"
    done = []

    def perform(self, job):
        Hello.done.append(job.args["n"])

url, prefix = sys.argv[1], sys.argv[2]
with Client(url, prefix=prefix, testing="manual") as client:
    with client.connect(autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{prefix}"')
        migrate_up(conn, prefix)
    client.insert(Hello.new({"n": 7}))
    counts = Testing(client).drain_queue("alone")
    with client.connect(autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{prefix}" CASCADE')
print(json.dumps({"completed": counts["completed"], "done": Hello.done, "modules": sorted(sys.modules)}))
"""


def _source_copy(tmp: Path) -> Path:
    """What the wheel is built from, copied so the build leaves nothing in the tree."""
    src = _mkdir(tmp / "src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for name in ("worker", "operator"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def queue_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert WHEELHOUSE.is_dir(), f"{WHEELHOUSE} is missing: run `make .venv/.installed`"
    tmp = tmp_path_factory.mktemp("queue-alone")
    wheels = tmp / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
         "--find-links", WHEELHOUSE, "--wheel-dir", wheels, _source_copy(tmp))  # fmt: skip
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         *wheels.glob("piiq-*.whl"))  # fmt: skip
    # The queue's dependencies only, from this venv: links in a folder the fresh venv reads.
    ours = Path(sysconfig.get_paths()["purelib"])
    deps = _mkdir(tmp / "deps")
    for entry in ours.iterdir():
        top = entry.name.split("-")[0].split(".")[0]
        if top in QUEUE_DEPENDENCIES:
            (deps / entry.name).symlink_to(entry)
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(site.stdout.strip()) / "queue_deps.pth").write_text(f"{deps}\n")
    return python


def test_the_queue_alone_installs_inserts_and_performs(
    queue_venv: Path, queue_database_url: str
) -> None:
    _run(queue_venv, "-m", "pip", "check")  # the wheel's requirements: exactly those
    prefix = "alone_" + Path(queue_venv).parents[1].name.replace("-", "_")[-12:]
    result = _run(queue_venv, "-c", SCRIPT, queue_database_url, prefix, cwd=queue_venv.parent)
    report = json.loads(result.stdout.splitlines()[-1])
    assert (report["completed"], report["done"]) == (1, [7])
    imported = {name.partition(".")[0] for name in report["modules"]}
    assert "piiq" in imported and not imported & set(APPLICATION)


def test_the_piiq_command_without_the_application_says_what_to_install(queue_venv: Path) -> None:
    result = subprocess.run(
        [queue_venv.parent / "piiq", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "piiq: the commands need the application's dependencies (click is not installed): "
        "pip install 'piiq[app]'"
    ]


def test_the_queue_imports_no_structlog(queue_venv: Path, queue_database_url: str) -> None:
    prefix = "nostructlog_" + Path(queue_venv).parents[1].name.replace("-", "_")[-12:]
    result = _run(queue_venv, "-c", SCRIPT, queue_database_url, prefix, cwd=queue_venv.parent)
    modules = json.loads(result.stdout.splitlines()[-1])["modules"]
    assert "structlog" not in modules


TYPED_USE = """
from piiq.queue import Client, Job, Snooze, Worker


class Report(Worker):
    queue = "reports"

    async def perform(self, job: Job) -> Snooze | None:
        return Snooze(60) if job.args.get("later") else None


client = Client("postgresql://app@127.0.0.1:5432/app")
stored: Job = client.insert(Report.new({"later": True}))
"""


def test_an_application_type_checks_against_the_installed_queue(
    queue_venv: Path, tmp_path: Path
) -> None:
    """The wheel says it is typed (py.typed), and an async perform fits the base class."""
    script = tmp_path / "app.py"
    script.write_text(TYPED_USE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable",
         str(queue_venv), str(script)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
