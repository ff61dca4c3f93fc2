"""In-process Pruner (off by default: pruning usually runs in the maintenance CronJob):
delete finished jobs past their age every ``interval`` seconds, in bounded batches."""

from __future__ import annotations

from ._background import MaintenancePasses
from ._log import get_logger
from ._maintenance import MaintenanceOptions, PassSummary, prune_steps

log = get_logger(__name__)


class Pruner(MaintenancePasses):
    name = "pruner"

    async def one_pass(self) -> PassSummary:
        pruned = await self._run_steps(prune_steps(self._prefix, self._options))
        if any(pruned.pruned.values()):
            log.info("jobs.pruned", **pruned.pruned)
        return pruned

    @staticmethod
    def wanted(options: MaintenanceOptions) -> bool:
        return options.prune_max_age is not None or bool(options.prune_max_age_by_state)
