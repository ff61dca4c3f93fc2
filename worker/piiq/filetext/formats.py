"""Text out of the single-stream formats: plain text, CSV, JSON, RTF, PDF, images (OCR)
and legacy Excel; the legacy formats no maintained library reads are refused by name."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time

from .limits import Refused, Stop
from .run import Run


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def text(data: bytes, run: Run) -> None:
    run.add(decode(data))


def table(data: bytes, run: Run) -> None:
    content = decode(data)
    sample = content[:1024]
    dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    for row in csv.reader(io.StringIO(content), dialect):
        run.count_cells(max(len(row), 1))
        run.add(" | ".join(row))


def json_values(data: bytes, run: Run) -> None:
    content = decode(data)
    try:
        tree = json.loads(content)
    except (ValueError, RecursionError):
        run.add(content)  # not valid JSON: scanned as text
        return
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

    walk(tree)
    run.add("\n".join(values))


def rtf(data: bytes, run: Run) -> None:
    from striprtf.striprtf import rtf_to_text

    run.add(rtf_to_text(data.decode("latin-1"), errors="ignore"))


def pdf(data: bytes, run: Run) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = bool(reader.decrypt(""))
        except Exception:
            opened = False
        if not opened:
            raise Refused("encrypted PDF: cannot read it without the password")
    try:
        meta = reader.metadata
        titles = [str(v) for v in (meta.title, meta.subject) if v] if meta else []
        if titles:
            run.add("\n".join(titles))
    except Exception:
        run.note("document properties unreadable")
    pages = len(reader.pages)
    limit = run.limits.max_pdf_pages
    for i in range(min(pages, limit)):
        run.check_time()
        try:
            page_text = reader.pages[i].extract_text() or ""
        except Stop:
            raise
        except Exception as exc:  # one bad page does not hide the others
            run.note(f"page {i + 1} unreadable ({type(exc).__name__})")
            continue
        run.add(page_text)
    if pages > limit:
        run.note(f"first {limit} of {pages} pages")


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def image(data: bytes, run: Run) -> None:
    from PIL import Image

    limit = run.limits.max_image_pixels
    Image.MAX_IMAGE_PIXELS = None  # our own check below names the size
    picture = Image.open(io.BytesIO(data))  # reads the header, decodes nothing
    width, height = picture.size
    if width * height > limit:
        raise Refused(f"image too large: {width} x {height} pixels (limit {limit:,})")
    Image.MAX_IMAGE_PIXELS = limit  # and Pillow's, for any frame that claims more
    if not ocr_available():
        raise Refused("an image, and OCR is not installed (Debian's tesseract-ocr)")
    import pytesseract

    frames = getattr(picture, "n_frames", 1)
    for frame in range(min(frames, run.limits.max_image_frames)):
        picture.seek(frame)
        remaining = run.deadline - time.monotonic()
        if remaining <= 1:
            raise Stop(f"stopped after {run.limits.max_seconds:g} s")
        try:
            run.add(pytesseract.image_to_string(picture, timeout=remaining))
        except RuntimeError as exc:  # pytesseract's timeout
            raise Stop(f"OCR took too long ({exc})") from None
    if frames > run.limits.max_image_frames:
        run.note(f"first {run.limits.max_image_frames} of {frames} frames")


def xls(data: bytes, run: Run) -> None:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise Refused("encrypted (password-protected) spreadsheet") from None
        raise Refused("not a readable Excel 97-2003 file") from None
    run.add("\n".join(book.sheet_names()))  # sheet titles are scanned too
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        for r in range(sheet.nrows):
            row = sheet.row_values(r)
            run.count_cells(max(len(row), 1))
            run.add(" | ".join(_cell(v) for v in row if v not in ("", None)))
        book.unload_sheet(index)


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 4539148803436467.0 -> the card number as written
    return str(value)


def legacy(kind: str) -> None:
    raise Refused(
        f"a legacy {kind} file, which piiq cannot read: save it as {_MODERN[kind]} or PDF "
        "to have it checked"
    )


_MODERN = {"Word 97-2003 (.doc)": ".docx", "PowerPoint 97-2003 (.ppt)": ".pptx"}


def doc(data: bytes, run: Run) -> None:
    legacy("Word 97-2003 (.doc)")


def ppt(data: bytes, run: Run) -> None:
    legacy("PowerPoint 97-2003 (.ppt)")


def unknown(data: bytes, run: Run) -> None:
    raise Refused("unsupported file type")
