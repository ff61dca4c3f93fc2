"""Is a container's ``args`` a command the image's ``piiq`` ENTRYPOINT accepts?

Parses with the real click CLI (``piiq.cli.main``) without running anything: the group
resolves the subcommand, then the subcommand's ``make_context`` parses and converts every
option (durations, choices, ranges) exactly as a run would, and raises the click error a
person would see in ``kubectl logs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from piiq.cli import main
from piiq.queue._runner import parse_queue_limits


def parse_piiq_args(args: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """(subcommand, its parsed parameters); raises ``click.ClickException`` when invalid."""
    assert all(isinstance(a, str) for a in args), f"args must all be strings: {args!r}"
    with click.Context(main, info_name="piiq") as root:
        name, command, rest = main.resolve_command(root, list(args))
        assert name is not None and command is not None, f"no subcommand in {args!r}"
        with command.make_context(name, rest, parent=root) as ctx:
            params = dict(ctx.params)
    if name == "worker":  # NAME=N is checked when the Runner starts; check it now
        try:
            parse_queue_limits(list(params["queues"]))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--queue") from None
    return name, params
