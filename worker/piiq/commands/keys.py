"""``piiq keys generate``: a new entry for PIIQ_ARGS_KEYS."""

from __future__ import annotations

import click

from ..runtime.argscrypt import ArgsKeyError, generate


def generate_key(key_id: str | None) -> None:
    """Print a new KEY_ID:BASE64 entry; a bad --id is named as the option."""
    try:
        click.echo(generate(key_id))
    except ArgsKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--id") from None
