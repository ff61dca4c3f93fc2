"""The ``piiq`` command's entry point: one line, not a traceback, when piiq was installed
as the queue alone (``pip install piiq``) without the application's extra ``piiq[app]``."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as cli_main
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] == "piiq":
            raise
        sys.exit(
            f"piiq: the commands need the application's dependencies ({exc.name} is not "
            "installed): pip install 'piiq[app]'"
        )
    cli_main()
