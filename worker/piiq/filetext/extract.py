"""One file to text, in this process: the kind, the extractor, and the outcome.

``extract_here`` is what the child process runs; callers use ``extract_text``, which
runs it in a child process with a memory limit and a hard timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from . import formats, office
from .archive import extract_archive
from .limits import Limits, Refused, Stop
from .pdfjoin import join_wrapped_digits
from .run import Run
from .sniff import Kind, sniff

Status = Literal["scanned", "partly_scanned", "not_scanned"]


@dataclass(frozen=True, slots=True)
class Extraction:
    name: str
    kind: Kind
    status: Status
    text: str = ""
    reason: str = ""  # why not scanned, or what was left out ("first 200 of 201 pages")
    # The reason without the names of archive members and parts (names are text: a
    # member called after a person must not reach a log line, an audit row or a DM).
    summary: str = ""


_EXTRACTORS: dict[Kind, Callable[[bytes, Run], None]] = {
    "text": formats.text, "csv": formats.table, "json": formats.json_values,
    "rtf": formats.rtf, "pdf": formats.pdf, "image": formats.image, "xls": formats.xls,
    "doc": formats.doc, "ppt": formats.ppt, "docx": office.docx, "xlsx": office.xlsx,
    "pptx": office.pptx, "odt": office.opendocument, "ods": office.opendocument,
    "odp": office.opendocument, "unknown": formats.unknown,
}  # fmt: skip


def too_large(name: str, kind: Kind, size: int, limits: Limits) -> Extraction:
    return not_scanned(name, kind, f"too large: {size:,} bytes (limit {limits.max_bytes:,})")


def not_scanned(name: str, kind: Kind, reason: str) -> Extraction:
    return Extraction(name, kind, "not_scanned", reason=reason, summary=reason)


def extract_here(name: str, data: bytes, limits: Limits | None = None) -> Extraction:
    limits = limits or Limits()
    kind = sniff(name, data)
    if len(data) > limits.max_bytes:
        return too_large(name, kind, len(data), limits)
    run = Run(limits)
    try:
        extract_into(name, data, run)
    except Stop as exc:
        run.note(str(exc))
    except Refused as exc:
        run.note(str(exc))
    return outcome(name, kind, run)


def extract_into(name: str, data: bytes, run: Run) -> None:
    """Dispatch by kind (archives call back here for each member)."""
    kind = sniff(name, data)
    try:
        if kind == "zip":
            extract_archive(data, run, extract_into)
        else:
            _EXTRACTORS[kind](data, run)
    except (Refused, Stop, MemoryError):
        raise
    except Exception as exc:  # a corrupt file must never crash the worker
        raise Refused(f"unreadable {kind} file ({type(exc).__name__})") from None


def outcome(name: str, kind: Kind, run: Run) -> Extraction:
    """Scanned when nothing was left out; partly scanned when something was read."""
    if not run.notes:
        return Extraction(name, kind, "scanned", join_wrapped_digits(run.text()))
    reason = describe([f"{where}: {what}" if where else what for where, what in run.notes])
    summary = describe(list(dict.fromkeys(what for _, what in run.notes)))
    if not run.read:
        return Extraction(name, kind, "not_scanned", reason=reason, summary=summary)
    text = join_wrapped_digits(run.text())
    return Extraction(name, kind, "partly_scanned", text, reason, summary)


def describe(notes: list[str], most: int = 3) -> str:
    shown = "; ".join(notes[:most])
    return shown + (f"; and {len(notes) - most} more" if len(notes) > most else "")
