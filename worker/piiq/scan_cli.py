"""``piiq scan``: what the detector finds in a text or a file, and what the policy decides."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from .detect import Detector, ScanResult, Source
from .detect.files import extract_text


def scan_command(text: str | None, file: Path | None, as_json: bool, show_values: bool) -> int:
    """Scan and print; the exit status is 0 allow, 1 warn, 2 delete (for scripts)."""
    if (text is None) == (file is None):
        raise click.UsageError(
            "give a text (\"piiq scan 'my card is ...'\") or --file PATH, not both"
        )
    sources: list[Source] = []
    notes: list[dict[str, str]] = []
    if file is not None:
        extraction = extract_text(file.name, file.read_bytes())
        notes.append({"file": file.name, "kind": extraction.kind, "status": extraction.status,
                      "reason": extraction.reason})  # fmt: skip
        if extraction.status == "scanned":
            sources.append(Source(f"file {file.name}", extraction.text, slack_markup=False))
    else:
        sources.append(Source("text", text or ""))
    detector = Detector.from_settings()
    result = detector.scan(sources)
    if as_json:
        print(json.dumps(_as_json(result, sources, notes, show_values)))
    else:
        _print(result, sources, notes, show_values)
    return {"allow": 0, "warn": 1, "delete": 2}[result.decision.action]


def _value(sources: list[Source], finding, show: bool) -> str:  # type: ignore[no-untyped-def]
    text = next(s.text for s in sources if s.name == finding.source)
    value = text[finding.start : finding.end]
    return value if show else f"[{len(value)} chars hidden]"


def _as_json(result: ScanResult, sources: list[Source], notes: list, show: bool) -> dict:  # type: ignore[type-arg]
    findings = []
    for f in result.findings:
        entry = f.as_dict()
        if show:
            entry["value"] = _value(sources, f, True)
        findings.append(entry)
    return {"decision": result.decision.as_dict(), "findings": findings, "files": notes}


def _print(result: ScanResult, sources: list[Source], notes: list, show: bool) -> None:  # type: ignore[type-arg]
    console = Console()
    for note in notes:
        line = f"{note['file']}: {note['kind']}, {note['status']}"
        console.print(line + (f" ({note['reason']})" if note["reason"] else ""))
    colour = {"delete": "red", "warn": "yellow", "allow": "green"}[result.decision.action]
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
