"""Text out of Slack files, within limits, never crashing on a broken or hostile file.

Every file gets an outcome: ``scanned`` with its text, or ``not_scanned`` with a reason a
person can read ("OCR unavailable", "encrypted PDF", "too large ..."): a file we could not
read is reported as such, never passed as clean.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

Kind = Literal["text", "csv", "json", "pdf", "docx", "xlsx", "image", "unknown"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024  # the file as downloaded
    max_text_chars: int = 1_000_000  # extracted text kept for analysis
    max_pdf_pages: int = 200
    max_xlsx_cells: int = 500_000
    max_unzipped_bytes: int = 200 * 1024 * 1024  # DOCX/XLSX are zip files: zip bombs
    max_seconds: float = 30.0
    max_image_pixels: int = 40_000_000


@dataclass(frozen=True, slots=True)
class Extraction:
    name: str
    kind: Kind
    status: Literal["scanned", "not_scanned"]
    text: str = ""
    reason: str = ""  # why not scanned, or what was cut ("first 200 pages")


class _Refused(Exception):
    pass


_EXTENSIONS: dict[str, Kind] = {
    ".txt": "text", ".md": "text", ".log": "text", ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".tif": "image",
    ".tiff": "image", ".bmp": "image", ".webp": "image",
}  # fmt: skip
_MAGIC: list[tuple[bytes, Kind]] = [
    (b"%PDF", "pdf"), (b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"), (b"GIF8", "image"),
    (b"II*\x00", "image"), (b"MM\x00*", "image"), (b"BM", "image"),
]  # fmt: skip


def sniff(name: str, data: bytes) -> Kind:
    """The file's real kind from its bytes; the extension only breaks ties."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image"
    by_name = _EXTENSIONS.get(PurePath(name).suffix.lower(), "unknown")
    if data.startswith(b"PK\x03\x04"):
        return by_name if by_name in ("docx", "xlsx") else _office_kind(data)
    if by_name in ("text", "csv", "json") or _looks_like_text(data):
        return by_name if by_name in ("text", "csv", "json") else "text"
    return "unknown"


def _office_kind(data: bytes) -> Kind:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return "unknown"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "unknown"


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    return b"\x00" not in sample and sum(b < 9 or 13 < b < 32 for b in sample) < len(sample) * 0.02


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def extract_text(name: str, data: bytes, limits: Limits | None = None) -> Extraction:
    limits = limits or Limits()
    kind = sniff(name, data)
    if len(data) > limits.max_bytes:
        return Extraction(
            name,
            kind,
            "not_scanned",
            reason=f"too large: {len(data):,} bytes (limit {limits.max_bytes:,})",
        )
    deadline = time.monotonic() + limits.max_seconds
    try:
        text, note = _EXTRACTORS.get(kind, _unknown)(data, limits, deadline)
    except _Refused as exc:
        return Extraction(name, kind, "not_scanned", reason=str(exc))
    except Exception as exc:  # a corrupt file must never crash the worker
        return Extraction(
            name, kind, "not_scanned", reason=f"unreadable {kind} file ({type(exc).__name__})"
        )
    if len(text) > limits.max_text_chars:
        text, note = text[: limits.max_text_chars], f"first {limits.max_text_chars:,} characters"
    return Extraction(name, kind, "scanned", join_wrapped_digits(text), note)


_WRAPPED = re.compile(r"(\d+)[ \t]*\n[ \t]*(\d+)")


def join_wrapped_digits(text: str) -> str:
    """Rejoin a number that a PDF line break split: "card 4\\n539 1488 ..." -> "card 4539 1488".

    A short run on either side of the break (under 4 digits) was cut mid-group and is
    glued back; two full groups are joined by a space, as a card number is written.
    """

    def join(m: re.Match[str]) -> str:
        left, right = m.group(1), m.group(2)
        glue = "" if len(left) < 4 or len(right) < 4 else " "
        return left + glue + right

    return _WRAPPED.sub(join, text)


def _check_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise _Refused("took too long to extract")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _text(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    return _decode(data), ""


def _csv(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    text = _decode(data)
    dialect = csv.excel_tab if text[:1024].count("\t") > text[:1024].count(",") else csv.excel
    lines = [" | ".join(row) for row in csv.reader(io.StringIO(text), dialect)]
    return "\n".join(lines), ""


def _json(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    values: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                values.append(str(key))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif node is not None:
            values.append(str(node))

    try:
        walk(json.loads(_decode(data)))
    except ValueError:
        return _decode(data), "not valid JSON: scanned as text"
    return "\n".join(values), ""


def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _Refused("not a valid Office file (broken zip)") from None
    total = sum(info.file_size for info in archive.infolist())
    if total > limits.max_unzipped_bytes:
        raise _Refused(
            f"expands to {total:,} bytes (limit {limits.max_unzipped_bytes:,}): possible zip bomb"
        )


def _pdf(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):
                raise _Refused("encrypted PDF: cannot read it without the password")
        except _Refused:
            raise
        except Exception:
            raise _Refused("encrypted PDF: cannot read it without the password") from None
    pages, note = reader.pages, ""
    if len(pages) > limits.max_pdf_pages:
        note = f"first {limits.max_pdf_pages} of {len(pages)} pages"
    parts = []
    for i, page in enumerate(pages):
        if i >= limits.max_pdf_pages:
            break
        _check_time(deadline)
        parts.append(page.extract_text() or "")
    return "\n".join(parts), note


def _docx(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    _check_zip(data, limits)
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        _check_time(deadline)
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts), ""


def _xlsx(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    _check_zip(data, limits)
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    parts, cells, note = [], 0, ""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            values = [str(v) for v in row if v is not None]
            cells += len(row)
            if values:
                parts.append(" | ".join(values))
            if cells > limits.max_xlsx_cells:
                note = f"first {limits.max_xlsx_cells:,} cells"
                break
            if cells % 10_000 < len(row):
                _check_time(deadline)
        if note:
            break
    workbook.close()
    return "\n".join(parts), note


def _image(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    if not ocr_available():
        raise _Refused("not scanned: OCR unavailable (install Debian's tesseract-ocr)")
    import pytesseract
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels  # decompression bombs raise
    image = Image.open(io.BytesIO(data))
    image.load()
    remaining = max(deadline - time.monotonic(), 1.0)
    try:
        return pytesseract.image_to_string(image, timeout=remaining), ""
    except RuntimeError as exc:  # pytesseract's timeout
        raise _Refused(f"OCR took too long ({exc})") from None


def _unknown(data: bytes, limits: Limits, deadline: float) -> tuple[str, str]:
    raise _Refused("not scanned: unsupported file type")


_EXTRACTORS = {
    "text": _text, "csv": _csv, "json": _json, "pdf": _pdf, "docx": _docx, "xlsx": _xlsx,
    "image": _image, "unknown": _unknown,
}  # fmt: skip
