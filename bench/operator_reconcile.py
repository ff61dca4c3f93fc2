"""How fast the operator turns PIIQueues into Deployments, and how many API calls it makes.

    .venv/bin/python bench/operator_reconcile.py [--counts 1,50]

For each count N: the operator (real kopf, in its own thread) runs against the in-memory
Kubernetes emulator (tests/support/k8s_emulator.py); N PIIQueues of two queues each are
created at once; the figures are the time from the first create to every Deployment and
CronJob present, and the API requests the operator made per PIIQueue until then (the
emulator counts every request; the bench's own creates are subtracted). The drift timer is
set to 60 s so it does not run during the measurement. No database: the backlog read
fails fast (connection refused), as with an unreachable database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # the repository root: tests.operator
from tests.operator.operator_helpers import (  # noqa: E402
    CRONJOBS,
    DEPLOYMENTS,
    Cluster,
    emulated_cluster,
    piiqueue,
    running_operator,
)


async def measure(count: int) -> tuple[float, float, Counter[str]]:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        async with emulated_cluster(Path(tmp), mp) as cluster, running_operator(interval=60):
            cluster.emulator.request_log_limit = 100
            await cluster.secrets()
            before = Counter(cluster.emulator.served)
            names = [f"q{i}" for i in range(count)]
            start = time.perf_counter()
            await asyncio.gather(*(cluster.create(piiqueue(n)) for n in names))
            await wait_for_children(cluster, names)
            elapsed = time.perf_counter() - start
            kinds = Counter(cluster.emulator.served)
            kinds.subtract(before)
            kinds["POST piiqueues"] -= count  # the bench's own creates
            kinds = +kinds
            return elapsed, sum(kinds.values()) / count, kinds


async def wait_for_children(cluster: Cluster, names: list[str]) -> None:
    wanted_deployments = {f"{n}-{q}" for n in names for q in ("default", "events")}
    wanted_cronjobs = {f"{n}-maintenance" for n in names}
    deadline = time.monotonic() + 300
    while not (
        wanted_deployments <= cluster.names(DEPLOYMENTS)
        and wanted_cronjobs <= cluster.names(CRONJOBS)
    ):
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the Deployments")
        await asyncio.sleep(0.01)


async def main(counts: list[int]) -> None:
    print("PIIQueues  apply->all children present  operator requests per PIIQueue")
    for count in counts:
        elapsed, per_queue, kinds = await measure(count)
        print(f"{count:>9}  {elapsed * 1000:>24.0f} ms  {per_queue:>30.1f}")
        print("           by kind:", ", ".join(f"{k}={v}" for k, v in kinds.most_common(8)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,50", help="comma-separated PIIQueue counts")
    args = parser.parse_args()
    asyncio.run(main([int(c) for c in args.counts.split(",")]))
