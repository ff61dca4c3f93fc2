"""Office Open XML (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP) files: zip
packages of XML parts, each part streamed within the part and total limits."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from typing import TypeVar

from lxml import etree

from . import xmlparts
from .archive import open_part, open_zip, truncated_note
from .limits import Refused
from .run import Run
from .sniff import OLE_MAGIC
from .xmlparts import Stream

T = TypeVar("T")


def _parts(archive: zipfile.ZipFile, pattern: str) -> list[zipfile.ZipInfo]:
    """Members whose name matches ``pattern``, in numeric order (slide2 before slide10)."""
    regex = re.compile(pattern)
    found = [info for info in archive.infolist() if regex.fullmatch(info.filename)]
    return sorted(
        found, key=lambda i: [int(n) if n.isdigit() else n for n in re.split(r"(\d+)", i.filename)]
    )


def _read(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, run: Run, read: Callable[[Stream], T]
) -> T | None:
    """Stream one part into ``read``; a refused or broken part is a note, not the end."""
    result: T | None = None
    with run.inside(info.filename):
        stream = open_part(archive, info, run)
        try:
            result = read(stream)
        except etree.XMLSyntaxError:
            if not stream.truncated:
                raise Refused("not well-formed XML") from None
        finally:
            truncated_note(stream, run)
            stream.close()
    return result


def _package(data: bytes, required: str) -> zipfile.ZipFile:
    if data.startswith(OLE_MAGIC):
        raise Refused("encrypted (password-protected) Office file")
    archive = open_zip(data)
    names = set(archive.namelist())
    if required not in names:
        raise Refused(f"not a valid Office file ({required} is missing)")
    if "META-INF/manifest.xml" in names:  # OpenDocument: encrypted parts are listed here
        manifest = archive.getinfo("META-INF/manifest.xml")
        if manifest.file_size < 1024 * 1024 and b"encryption-data" in archive.read(manifest):
            raise Refused("encrypted (password-protected) document")
    return archive


def _text_parts(
    archive: zipfile.ZipFile, patterns: list[str], layout: xmlparts.Layout, run: Run
) -> None:
    for pattern in patterns:
        for info in _parts(archive, pattern):
            _read(archive, info, run, lambda s: xmlparts.read_part(s, layout, run))


_CORE = [r"docProps/core\.xml"]


def docx(data: bytes, run: Run) -> None:
    archive = _package(data, "word/document.xml")
    _text_parts(archive, _CORE, xmlparts.PROPERTIES, run)
    body = [r"word/document\.xml", r"word/(header|footer)\d*\.xml",
            r"word/(footnotes|endnotes|comments)\.xml"]  # fmt: skip
    _text_parts(archive, body, xmlparts.WORD, run)


def pptx(data: bytes, run: Run) -> None:
    archive = _package(data, "ppt/presentation.xml")
    _text_parts(archive, _CORE, xmlparts.PROPERTIES, run)
    slides = [r"ppt/slides/slide\d+\.xml", r"ppt/notesSlides/notesSlide\d+\.xml",
              r"ppt/comments/comment\d+\.xml"]  # fmt: skip
    _text_parts(archive, slides, xmlparts.DRAWING, run)


def xlsx(data: bytes, run: Run) -> None:
    archive = _package(data, "xl/workbook.xml")
    _text_parts(archive, _CORE, xmlparts.PROPERTIES, run)
    names = _read(archive, archive.getinfo("xl/workbook.xml"), run,
                  lambda s: xmlparts.sheet_names(s, run))  # fmt: skip
    for name in names or []:
        run.add(str(name))  # sheet titles are scanned too
    strings: list[str] = []
    for info in _parts(archive, r"xl/sharedStrings\.xml"):
        strings = _read(archive, info, run, lambda s: xmlparts.read_shared_strings(s, run)) or []
    for info in _parts(archive, r"xl/worksheets/sheet\d+\.xml"):
        _read(archive, info, run, lambda s: xmlparts.read_sheet(s, strings, run))


def opendocument(data: bytes, run: Run) -> None:
    archive = _package(data, "content.xml")
    _text_parts(archive, [r"meta\.xml"], xmlparts.PROPERTIES, run)
    _text_parts(archive, [r"content\.xml", r"styles\.xml"], xmlparts.OPENDOCUMENT, run)
