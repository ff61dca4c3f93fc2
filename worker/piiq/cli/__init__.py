"""The ``piiq`` command: click's options and help for each subcommand, and one call into
``piiq.commands``, which does the work (imported when the subcommand runs). The
subcommands are declared by area: ``queue`` (migrate, worker, maintenance, jobs, queues,
canary), ``slack`` (scan, ingress, scan-history, sandbox, demo) and ``admin`` (audit,
allow-list, keys); ``operator`` is loaded from piiq_operator when it runs."""

from __future__ import annotations

import importlib
import signal
from typing import Any

import click
from pydantic import ValidationError

from ..commands.user_errors import UserError, settings_error
from . import admin, queue, slack


class PiiqGroup(click.Group):
    """Imports heavy commands only when they run (`piiq operator` needs kopf: 0.3 s)."""

    lazy = {"operator": ("piiq_operator.cli", "operator_command")}

    def invoke(self, ctx: click.Context) -> Any:
        """Every command's first mistakes (a bad setting, a database that is not ready) as
        one line and exit status 1, never a traceback."""
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            raise click.ClickException(str(settings_error(exc))) from None
        except UserError as exc:
            raise click.ClickException(str(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)


@click.group(cls=PiiqGroup)
@click.version_option(package_name="piiq")
def main() -> None:
    """piiq keeps personal data out of Slack, on an Oban-compatible PostgreSQL job queue."""
    # In a container piiq is PID 1, which ignores signals it has no handler for: without
    # this, SIGTERM before a command installs its own (a worker still waiting for the
    # database) would be ignored until the kubelet's SIGKILL.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


for command in (*queue.COMMANDS, *slack.COMMANDS, *admin.COMMANDS):
    main.add_command(command)
