"""helm install -> the operator -> the pods it asks for, run as local processes.

The ``stack`` fixture (one per module: processes are expensive to start) does what a user
and a cluster would do, in order:

1. ``helm install`` the chart (real Helm engine) into the Kubernetes API emulator, with the
   quick-start Secret (a fresh database; a password the logs must never show; the Slack
   sandbox's tokens), a generated args encryption key and the example PIIQueue (small
   queues), with ``operator.slackApiUrl`` pointing at the sandbox (an operator setting: a
   PIIQueue cannot choose where the tokens go);
2. runs the chart's migration hook Job (``piiq migrate``, post-install with the quick-start
   Secret) as Helm would once the release's objects exist; the emulator cannot run hooks;
3. runs the real operator in-process, with the image and Slack API flags the chart's
   operator Deployment passes, until it has created the worker Deployments, the
   maintenance CronJob and the ingress Deployment, then stops it (the pods do not need it);
4. starts every Deployment's pods, ``replicas`` processes each (tests/e2e/kubelet.py), and
   waits until the ingress answers /readyz and every worker has registered its heartbeat.

Teardown sends SIGTERM to every process (bounded) and drops the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.stack import Stack, running_stack


@pytest.fixture(scope="module")
async def stack(
    queue_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with running_stack(queue_database_url, tmp_path_factory.mktemp("e2e")) as result:
        yield result
