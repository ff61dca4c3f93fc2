"""One extraction in progress: its limits, its clock, the text so far, what was left out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from .limits import Limits, Refused, Stop


class Run:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.parts: list[str] = []
        self.chars = 0
        self.notes: list[tuple[str, str]] = []  # (the member it is in, what was not read)
        self.read = False  # some page, part or member was read
        self.unzipped = 0  # bytes expanded out of zip files so far
        self.cells = 0  # spreadsheet cells so far
        self.depth = 0  # archives we are inside
        self._where: list[str] = []

    def add(self, text: str) -> None:
        """Keep ``text`` for analysis; stops the run when the text limit is reached."""
        self.read = True
        self.check_time()
        text = text.strip()
        if not text:
            return
        room = self.limits.max_text_chars - self.chars
        if len(text) > room:
            self.parts.append(text[: max(room, 0)])
            self.chars = self.limits.max_text_chars
            raise Stop(f"first {self.limits.max_text_chars:,} characters")
        self.parts.append(text)
        self.chars += len(text) + 1

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise Stop(f"stopped after {self.limits.max_seconds:g} s")

    def count_cells(self, n: int) -> None:
        self.cells += n
        if self.cells > self.limits.max_xlsx_cells:
            raise Stop(f"first {self.limits.max_xlsx_cells:,} cells")

    def count_unzipped(self, n: int) -> None:
        self.unzipped += n
        if self.unzipped > self.limits.max_unzipped_bytes:
            raise Stop(
                f"first {self.limits.max_unzipped_bytes:,} bytes expanded (the limit): "
                "possible zip bomb"
            )

    def note(self, what: str) -> None:
        self.notes.append(("/".join(self._where), what))

    @contextmanager
    def inside(self, member: str) -> Iterator[None]:
        """Read an archive member: its notes name it, and its refusal is only a note."""
        self._where.append(member)
        try:
            yield
        except Refused as exc:
            self.note(str(exc))
        finally:
            self._where.pop()

    def text(self) -> str:
        return "\n".join(self.parts)
