"""What several commands share: the duration type, the database options, and the one-line
errors for the database and the queue's refusals of a value."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import click

from ..commands.user_errors import URL_FORM, check_database_url, database_errors
from ..queue import ConfigError, MigrationError, parse_duration
from ..runtime.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class Duration(click.ParamType):
    """7d, 30m, 90s, 1.5h or plain seconds; a bad value is named in the error."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()

# Shared by `worker` (fast rescue in-process) and `maintenance` (the CronJob's pass).
heartbeat_timeout_option = click.option(
    "--heartbeat-timeout",
    type=DURATION,
    default="30s",
    show_default=True,
    help="Rescue jobs of workers silent for longer than this.",
)


def database_options(func: F) -> F:
    """--database-url and --prefix, defaulting to PIIQ_DATABASE_URL / PIIQ_QUEUE_PREFIX."""

    @click.option("--database-url", help="PostgreSQL URL [env: PIIQ_DATABASE_URL]")
    @click.option(
        "--prefix", help="Schema holding oban_jobs [env: PIIQ_QUEUE_PREFIX; default public]"
    )
    @functools.wraps(func)
    def wrapper(*args: Any, database_url: str | None, prefix: str | None, **kwargs: Any) -> Any:
        settings = Settings()
        url = database_url or settings.database_url
        if not url:
            raise click.UsageError(
                "no database given: set PIIQ_DATABASE_URL or pass --database-url "
                f"({URL_FORM}, e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
            )
        check_database_url(url, "--database-url" if database_url else "PIIQ_DATABASE_URL")
        prefix = prefix or settings.queue_prefix
        with _one_line_errors(url, prefix):
            return func(*args, url=url, prefix=prefix, settings=settings, **kwargs)

    return cast(F, wrapper)


def group_database(func: F) -> F:
    """A subcommand of ``jobs`` or ``queues``: the group's database and prefix, and the
    same one-line errors."""

    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        url, prefix = ctx.obj["url"], ctx.obj["prefix"]
        with _one_line_errors(url, prefix):
            return func(*args, url=url, prefix=prefix, **kwargs)

    return cast(F, wrapper)


@contextlib.contextmanager
def _one_line_errors(url: str, prefix: str) -> Iterator[None]:
    """Database errors, and the queue's refusals of a value, as one line."""
    try:
        with database_errors(url, prefix):
            yield
    except (ConfigError, MigrationError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
