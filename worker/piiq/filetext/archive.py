"""Zip files read within bounds: Office parts and archive members alike.

Nothing trusts the sizes a zip declares: every byte expanded is counted as it is read,
per part (``max_part_bytes``) and for the whole file (``max_unzipped_bytes``); a part
that expands more than ``max_ratio`` times is refused before it is read; encrypted
members are reported, not guessed at.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import IO

from .limits import MiB, Refused
from .run import Run

_CHUNK = 64 * 1024


class CappedReader(io.RawIOBase):
    """A zip member's bytes, at most ``cap`` of them; past it reads return EOF and
    ``truncated`` is set. Checks the run's clock and total as it goes."""

    def __init__(self, raw: IO[bytes], cap: int, run: Run) -> None:
        self.raw, self.cap, self.run = raw, cap, run
        self.count = 0
        self.truncated = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self.run.check_time()
        room = self.cap - self.count
        if room <= 0:
            if self.raw.read(1):
                self.truncated = True
            return b""
        want = _CHUNK if size is None or size < 0 else size
        chunk = self.raw.read(min(want, room))
        self.count += len(chunk)
        self.run.count_unzipped(len(chunk))
        return chunk

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Refused("not a valid zip file (broken or truncated)") from None


def open_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, run: Run) -> CappedReader:
    """A stream of one member, refused when it is encrypted or a likely bomb."""
    if info.flag_bits & 0x1:
        raise Refused("encrypted (password-protected)")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > MiB and ratio > run.limits.max_ratio:
        raise Refused(
            f"expands {ratio:,.0f} times (limit {run.limits.max_ratio}): possible zip bomb"
        )
    try:
        raw = archive.open(info)
    except NotImplementedError:
        raise Refused("unsupported compression") from None
    return CappedReader(raw, run.limits.max_part_bytes, run)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, run: Run) -> bytes:
    """A whole member's bytes; one over the per-member limit is refused, not cut."""
    limit = run.limits.max_part_bytes
    if info.file_size > limit:
        raise Refused(f"larger than {limit:,} bytes expanded (the per-member limit)")
    with open_part(archive, info, run) as stream:
        data = b"".join(iter(lambda: stream.read(_CHUNK), b""))
        if stream.truncated:
            raise Refused(f"larger than {limit:,} bytes expanded (the per-member limit)")
    return data


def extract_archive(data: bytes, run: Run, extract: Callable[[str, bytes, Run], None]) -> None:
    """Every member of a zip archive: its name, then its text (``extract`` dispatches by
    kind, so archives inside archives recurse, up to ``max_depth``)."""
    if run.depth >= run.limits.max_depth:
        raise Refused(f"an archive nested more than {run.limits.max_depth} levels deep")
    archive = open_zip(data)
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > run.limits.max_members:
        run.note(f"first {run.limits.max_members:,} of {len(members):,} entries")
        members = members[: run.limits.max_members]
    run.depth += 1
    try:
        for info in members:
            run.add(info.filename)  # names are scanned too
            with run.inside(info.filename):
                extract(info.filename, read_member(archive, info, run), run)
    finally:
        run.depth -= 1


def truncated_note(stream: CappedReader, run: Run) -> None:
    if stream.truncated:
        run.note(f"first {stream.cap:,} bytes expanded (the per-part limit)")
