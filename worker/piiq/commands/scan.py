"""``piiq scan``: what the detector finds in a text or a file, and what the policy decides.

The exit status is the decision, for scripts; errors have statuses of their own (the BSD
``sysexits.h`` ones), never one a decision uses.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ..detect import Detector, Finding, ScanResult, Source
    from ..filetext import Extraction
    from ..filetext.verdict import FileVerdict

# Decisions.
EXIT_ALLOW, EXIT_WARN, EXIT_DELETE = 0, 1, 2
EXIT_UNCHECKED = 3  # a file not (fully) read whose readable part does not delete it
EXIT_QUARANTINE = 4  # held for review (policy action quarantine)
# Errors (sysexits.h).
EXIT_USAGE = 64  # EX_USAGE: bad arguments or options
EXIT_NOINPUT = 66  # EX_NOINPUT: the --file cannot be read
EXIT_CONFIG = 78  # EX_CONFIG: the policy, recognizers or model cannot be loaded

EXIT_STATUSES = f"""Exit status: {EXIT_ALLOW} allow, {EXIT_WARN} warn, {EXIT_DELETE} delete,
{EXIT_UNCHECKED} a file not scanned or partly scanned (encrypted, too large, an unsupported type,
past a limit) whose readable part does not delete it: the policy's `unscannable` setting
says what the worker does with it; {EXIT_QUARANTINE} quarantine (held for review). Errors: {EXIT_USAGE} usage (bad arguments),
{EXIT_NOINPUT} the --file cannot be read, {EXIT_CONFIG} the policy, recognizers file or
model cannot be loaded."""


class NoInput(click.ClickException):
    """The --file cannot be read: one line naming it and why."""

    exit_code = EXIT_NOINPUT


class ConfigUnreadable(click.ClickException):
    """The policy, recognizers file or model cannot be loaded: one line naming it."""

    exit_code = EXIT_CONFIG


class ScanUsageError(click.UsageError):
    """A usage error with the status no decision uses (click's 2 means delete here)."""

    exit_code = EXIT_USAGE


class ScanCommand(click.Command):
    """Usage errors (a bad option, a missing value) exit 64, not click's 2 (= delete)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _usage(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _usage(exc) from None


def _usage(exc: click.UsageError) -> ScanUsageError:
    """The same message (click's "did you mean" included) and usage, exiting 64."""
    if isinstance(exc, ScanUsageError):
        return exc
    return ScanUsageError(exc.format_message(), exc.ctx)


def load_detector(policy: Path | None, recognizers: Path | None) -> Detector:
    """The detector for ``--policy``/``--recognizers``, else the PIIQ_* settings."""
    from ..detect import Detector, PolicyError
    from ..runtime.settings import Settings

    settings = Settings()
    try:
        return Detector.create(
            model=settings.spacy_model,
            policy_file=str(policy) if policy else settings.policy_file,
            recognizers_file=str(recognizers) if recognizers else settings.recognizers_file,
            phone_regions=tuple(settings.phone_regions),
        )
    except (PolicyError, RuntimeError) as exc:
        raise ConfigUnreadable(str(exc)) from None


def scan(
    text: str | None,
    file: Path | None,
    as_json: bool,
    show_values: bool,
    policy: Path | None = None,
    recognizers: Path | None = None,
) -> int:
    """Scan and print; returns the exit status."""
    from ..detect import Source
    from ..filetext import extract_text
    from ..filetext.verdict import (
        DETECT_MIN_SECONDS,
        FILE_SECONDS,
        file_verdict,
        scan_within,
        with_note,
    )

    if (text is None) == (file is None):
        raise click.UsageError(
            "give a text (\"piiq scan 'my card is ...'\") or --file PATH, not both"
        )
    data = b""
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise NoInput(f"cannot read --file {str(file)!r}: {exc.strerror}") from None
    detector = load_detector(policy, recognizers)  # a bad policy fails before a slow file
    if file is None:
        sources = [Source("text", text or "")]
        result, verdict, extraction = detector.scan(sources), None, None
    else:
        started = time.monotonic()
        extraction = extract_text(file.name, data)
        names = [Source("file name", file.name, slack_markup=False)]
        deadline = max(started + FILE_SECONDS, time.monotonic() + DETECT_MIN_SECONDS)
        result, note = scan_within(detector, names, extraction.text, f"file {file.name}", deadline)
        coverage, reason = with_note(extraction.status, extraction.reason, note)
        extraction = replace(extraction, status=coverage, reason=reason)
        sources = names + [
            Source(n, t) for n, (t, _) in result.readable.items() if n != "file name"
        ]
        verdict = file_verdict(
            result.decision.action, coverage, reason, detector.policy.unscannable
        )
    status = exit_status(result.decision.action, verdict)
    if as_json:
        print(json.dumps(_as_json(result, sources, extraction, verdict, status, show_values)))
    else:
        _print(result, sources, extraction, verdict, show_values, detector.policy.unscannable)
    return status


def exit_status(findings: str, verdict: FileVerdict | None) -> int:
    if verdict is not None and verdict.unchecked:
        return EXIT_UNCHECKED
    statuses = {"allow": EXIT_ALLOW, "warn": EXIT_WARN, "delete": EXIT_DELETE,
                "quarantine": EXIT_QUARANTINE}  # fmt: skip
    return statuses[findings]


def _value(sources: list[Source], finding: Finding, show: bool) -> str:
    text = next(s.text for s in sources if s.name == finding.source)
    value = text[finding.start : finding.end]
    return value if show else f"[{len(value)} chars hidden]"


def _as_json(
    result: ScanResult,
    sources: list[Source],
    extraction: Extraction | None,
    verdict: FileVerdict | None,
    status: int,
    show: bool,
) -> dict[str, Any]:
    findings = []
    for f in result.findings:
        entry = f.as_dict()
        if show:
            entry["value"] = _value(sources, f, True)
        findings.append(entry)
    files = []
    if extraction is not None and verdict is not None:
        files.append(
            {
                "file": extraction.name,
                "kind": extraction.kind,
                "status": extraction.status,
                "reason": extraction.reason,
                "action": verdict.action,
                "alert_admins": verdict.alert_admins,
            }
        )
    outcome = verdict.outcome if verdict is not None else result.decision.action
    return {
        "decision": result.decision.as_dict(),
        "outcome": outcome,
        "exit_status": status,
        "findings": findings,
        "files": files,
    }


def _print(
    result: ScanResult,
    sources: list[Source],
    extraction: Extraction | None,
    verdict: FileVerdict | None,
    show: bool,
    unscannable: str,
) -> None:
    console = Console()
    if extraction is not None:
        line = f"{extraction.name}: {extraction.kind}, {extraction.status}"
        console.print(line + (f" ({extraction.reason})" if extraction.reason else ""), markup=False)
    colour = {"delete": "red", "warn": "yellow", "allow": "green"}[result.decision.action]
    if verdict is not None and verdict.unchecked:
        console.print(
            f"decision: [bold magenta]{verdict.coverage.replace('_', ' ')}[/]: the policy's "
            f"unscannable setting ({unscannable}) decides: {verdict.action}"
            + (" and alert the admins" if verdict.alert_admins else "")
        )
        if result.decision.action != "allow":
            console.print(f"  in what was read: [bold {colour}]{result.decision.action}[/]")
    else:
        console.print(f"decision: [bold {colour}]{result.decision.action}[/]")
    for reason in result.decision.reasons:
        console.print(
            f"  {reason.entity_type} x{reason.count} (max score {reason.max_score:.2f}, {reason.rule})"
        )
    if not result.findings:
        console.print("no findings")
        return
    table = Table(title="findings")
    for column in ("type", "score", "action", "source", "position", "value"):
        table.add_column(column)
    for f in result.findings:
        table.add_row(f.entity_type, f"{f.score:.2f}", f.action, f.source, f"{f.start}-{f.end}",
                      _value(sources, f, show))  # fmt: skip
    console.print(table)
