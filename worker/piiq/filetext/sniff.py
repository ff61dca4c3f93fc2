"""A file's real kind from its first bytes (and, for zip files, their part names); the
extension only breaks ties."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath
from typing import Literal

Kind = Literal[
    "text", "csv", "json", "rtf", "pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp", "zip",
    "xls", "doc", "ppt", "image", "unknown",
]  # fmt: skip

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office, and encrypted OOXML files

_EXTENSIONS: dict[str, Kind] = {
    ".txt": "text", ".md": "text", ".log": "text", ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".rtf": "rtf", ".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx",
    ".pptx": "pptx", ".odt": "odt", ".ods": "ods", ".odp": "odp", ".zip": "zip",
    ".xls": "xls", ".doc": "doc", ".ppt": "ppt",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".tif": "image",
    ".tiff": "image", ".bmp": "image", ".webp": "image",
}  # fmt: skip
_MAGIC: list[tuple[bytes, Kind]] = [
    (b"%PDF", "pdf"), (b"{\\rtf", "rtf"), (b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"), (b"II*\x00", "image"), (b"MM\x00*", "image"), (b"BM", "image"),
]  # fmt: skip
_ZIP_KINDS: tuple[Kind, ...] = ("docx", "xlsx", "pptx", "odt", "ods", "odp")
_OLE_KINDS: tuple[Kind, ...] = ("xls", "doc", "ppt", "docx", "xlsx", "pptx")
_ODF_MIMETYPES: dict[bytes, Kind] = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}


def by_extension(name: str) -> Kind:
    return _EXTENSIONS.get(PurePath(name).suffix.lower(), "unknown")


def sniff(name: str, data: bytes, *, look_inside: bool = True) -> Kind:
    """The kind of ``data``. ``look_inside=False`` never parses a zip's directory (the
    worker process does not: a hostile one is parsed in the child process only)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image"
    named = by_extension(name)
    if data.startswith(OLE_MAGIC):
        return named if named in _OLE_KINDS else "unknown"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if named in _ZIP_KINDS or not look_inside:
            return named if named in _ZIP_KINDS else "zip"
        return _zip_kind(data)
    if named in ("text", "csv", "json") or _looks_like_text(data):
        return named if named in ("text", "csv", "json") else "text"
    return "unknown"


def _zip_kind(data: bytes) -> Kind:
    """An Office or OpenDocument file by its parts, else a plain zip archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "mimetype" in names:
            info = archive.getinfo("mimetype")
            if info.file_size < 100:
                kind = _ODF_MIMETYPES.get(archive.read(info).strip())
                if kind:
                    return kind
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return "zip"
    for part, kind in (
        ("word/document.xml", "docx"),
        ("xl/workbook.xml", "xlsx"),
        ("ppt/presentation.xml", "pptx"),
    ):
        if part in names:
            return kind  # type: ignore[return-value]
    return "zip"


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    return b"\x00" not in sample and sum(b < 9 or 13 < b < 32 for b in sample) < len(sample) * 0.02
