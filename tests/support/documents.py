"""Small real documents for extraction tests, made in memory."""

from __future__ import annotations

import io
import zipfile

from piiq.filetext.sniff import OLE_MAGIC as OLE_MAGIC  # legacy Office and encrypted OOXML
from piiq.sandbox import text_pdf

# The sandbox hosts such PDFs for the demo; the tests share its writer.
pdf = text_pdf


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["secret ssn 536-22-1894"]))))
    writer.encrypt(user_password="hunter2", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb(unzipped_bytes: int) -> bytes:
    """A DOCX-looking zip whose document expands to ``unzipped_bytes`` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * unzipped_bytes)
    return out.getvalue()


def png(text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1400, 120), "white")
    ImageDraw.Draw(image).text((20, 30), text, fill="black", font=ImageFont.load_default(size=40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _package(parts: dict[str, str | bytes], *, stored_first: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:  # OpenDocument: an uncompressed "mimetype" comes first
            archive.writestr(zipfile.ZipInfo("mimetype"), parts.pop(stored_first))
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


_A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
_CORE = (
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{}</dc:title>'
    "</cp:coreProperties>"
)


def pptx(slides: list[list[str]], title: str = "") -> bytes:
    """A PowerPoint package: one slide per list of paragraphs (DrawingML text)."""
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": "<Types/>",
        "ppt/presentation.xml": "<p:presentation xmlns:p='urn:p'/>",
        "docProps/core.xml": _CORE.format(title),
    }
    for i, paragraphs in enumerate(slides, start=1):
        body = "".join(f"<a:p><a:r><a:t>{p}</a:t></a:r></a:p>" for p in paragraphs)
        parts[f"ppt/slides/slide{i}.xml"] = (
            f"<p:sld xmlns:p='urn:p' {_A}><a:txBody>{body}</a:txBody></p:sld>"
        )
    return _package(parts)


_ODF = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
)


def odt(paragraphs: list[str]) -> bytes:
    """An OpenDocument text; paragraphs may hold spans (mixed content)."""
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    content = f"<office:document-content {_ODF_NS}><office:body><office:text>{body}</office:text></office:body></office:document-content>"
    return _package(
        {"mimetype": _ODF["odt"], "content.xml": content, "META-INF/manifest.xml": "<m/>"},
        stored_first="mimetype",
    )


def ods(rows: list[list[str]]) -> bytes:
    cells = "".join(
        "<table:table-row>"
        + "".join(f"<table:table-cell><text:p>{v}</text:p></table:table-cell>" for v in row)
        + "</table:table-row>"
        for row in rows
    )
    content = f"<office:document-content {_ODF_NS}><office:body><office:spreadsheet><table:table>{cells}</table:table></office:spreadsheet></office:body></office:document-content>"
    return _package(
        {"mimetype": _ODF["ods"], "content.xml": content, "META-INF/manifest.xml": "<m/>"},
        stored_first="mimetype",
    )


def xls(rows: list[list[object]], sheet: str = "Sheet1") -> bytes:
    import xlwt

    workbook = xlwt.Workbook()
    grid = workbook.add_sheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            grid.write(r, c, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rtf(text: str) -> bytes:
    return ("{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\\f0\\fs24 " + text + "\\par}").encode()


def archive(members: dict[str, bytes], *, encrypted: tuple[str, ...] = ()) -> bytes:
    """A zip archive; members named in ``encrypted`` get the encryption flag set in their
    headers (their bytes are not really encrypted: readers must refuse them by the flag)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, body in members.items():
            zipped.writestr(name, body)
    data = bytearray(out.getvalue())
    for info in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist():
        if info.filename in encrypted:
            data[info.header_offset + 6] |= 0x1  # the local header's flags
            central = data.find(b"PK\x01\x02")
            while central >= 0:  # the central directory entry with this member's offset
                if (
                    int.from_bytes(data[central + 42 : central + 46], "little")
                    == info.header_offset
                ):
                    data[central + 8] |= 0x1
                    break
                central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def expanding_docx(xml_bytes: int, secret: str = "") -> bytes:
    """A small DOCX whose document.xml expands to about ``xml_bytes`` of real paragraphs
    (the review's hostile file: 184 KB holding 60 MB of XML); ``secret`` comes last."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paragraph = b"<w:p><w:r><w:t>lorem ipsum dolor sit amet consectetur</w:t></w:r></w:p>"
    head = f"<w:document {w}><w:body>".encode()
    tail = f"<w:p><w:r><w:t>{secret}</w:t></w:r></w:p></w:body></w:document>".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        zipped.writestr("[Content_Types].xml", "<Types/>")
        with zipped.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(head)
            chunk = paragraph * 1000
            for _ in range(max(xml_bytes // len(chunk), 1)):
                part.write(chunk)
            part.write(tail)
    return out.getvalue()


def pdf_pages(pages: list[str]) -> bytes:
    """A PDF with one page per text."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for text in pages:
        writer.add_page(PdfReader(io.BytesIO(pdf([text]))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def slow_pdf(operators: int) -> bytes:
    """A one-page PDF whose content stream holds ``operators`` text-showing operators,
    compressed: pypdf's text extraction works through all of them in one call (the
    review's content-stream bomb), so only a hard timeout stops it."""
    import zlib

    stream = zlib.compress(b"BT /F1 12 Tf " + b"(x) Tj 1 0 Td " * operators + b"ET", 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (its pixels are one): a
    decompression bomb must be refused from the header, before anything is decoded."""
    import struct
    import zlib

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(out, format="PNG")
    data = bytearray(out.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)
