"""The bounds one file's extraction runs within, and the two ways a bound is hit."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 20 * MiB  # the file as downloaded; larger: not scanned
    max_text_chars: int = 1_000_000  # text kept for analysis; more: partly scanned
    max_pdf_pages: int = 200
    max_xlsx_cells: int = 500_000  # spreadsheet cells (XLSX, XLS, ODS)
    max_unzipped_bytes: int = 200 * MiB  # every zip part and member of one file, as read
    max_part_bytes: int = 20 * MiB  # one XML part or archive member, expanded
    max_ratio: int = 200  # expanded / compressed size of a part over 1 MiB: a zip bomb
    max_members: int = 1000  # entries of one zip archive
    max_depth: int = 3  # archives inside archives
    max_image_pixels: int = 40_000_000  # width x height, checked before decoding
    max_image_frames: int = 5  # pages of a TIFF, frames of a GIF
    max_seconds: float = 15.0  # extraction stops itself and keeps what it read
    kill_after_seconds: float = 5.0  # ... and is killed this much later if it did not stop
    max_memory_bytes: int = 512 * MiB  # the extracting child process's address space

    @property
    def hard_timeout(self) -> float:
        return self.max_seconds + self.kill_after_seconds


class Refused(Exception):
    """This file (or part of it) cannot be read; the message says why, in words."""


class Stop(Exception):
    """Stop reading this file: a bound was reached. What was read so far is kept."""
