"""Text out of Office and OpenDocument XML parts, streamed: memory stays flat however
large the part, and the clock is checked at every paragraph.

Each format names its paragraphs, table cells and rows; a paragraph becomes a line, a
table row one line with its cells joined by `` | `` (so "SSN | 536-22-1894" keeps the
label beside its value). Elements are freed as soon as they are read; entities are never
expanded and no DTD or network resource is loaded.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from .run import Run

# A part's bytes: a file, or an archive member read through archive.CappedReader.
Stream = IO[bytes] | io.RawIOBase

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DC = "{http://purl.org/dc/elements/1.1/}"
CP = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"
META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"


@dataclass(frozen=True, slots=True)
class Layout:
    paragraphs: frozenset[str]
    cells: frozenset[str] = frozenset()
    rows: frozenset[str] = frozenset()
    spaces: frozenset[str] = frozenset()  # tabs, breaks: a space between words


WORD = Layout(
    frozenset({W + "p"}), frozenset({W + "tc"}), frozenset({W + "tr"}),
    frozenset({W + "tab", W + "br", W + "cr"}),
)  # fmt: skip
DRAWING = Layout(
    frozenset({A + "p"}), frozenset({A + "tc"}), frozenset({A + "tr"}), frozenset({A + "br"})
)
OPENDOCUMENT = Layout(
    frozenset({TEXT + "p", TEXT + "h"}),
    frozenset({TABLE + "table-cell", TABLE + "covered-table-cell"}),
    frozenset({TABLE + "table-row"}),
    frozenset({TEXT + "s", TEXT + "tab", TEXT + "line-break"}),
)
PROPERTIES = Layout(  # docProps/core.xml, meta.xml: titles and descriptions
    frozenset({DC + "title", DC + "subject", DC + "description", CP + "keywords",
               META + "keyword"})
)  # fmt: skip


def iterparse(stream: Stream, run: Run) -> Iterator[tuple[str, Any]]:
    """lxml's iterparse without entities, DTDs or network; ("start"|"end", element)."""
    from lxml import etree

    parser = etree.iterparse(
        stream,
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    yield from parser


def free(element: Any) -> None:
    """Drop an element that was read, and the siblings read before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def read_part(stream: Stream, layout: Layout, run: Run) -> None:
    """Every paragraph of the part, into ``run``."""
    cells: list[list[str]] = []  # the paragraphs of each open cell
    rows: list[list[str]] = []  # the cells of each open row
    open_paragraphs = 0

    def put(text: str) -> None:
        if cells:
            cells[-1].append(text)
        elif rows:
            rows[-1].append(text)
        else:
            run.add(text)

    for event, element in iterparse(stream, run):
        tag = element.tag
        if event == "start":
            if tag in layout.paragraphs:
                open_paragraphs += 1
            elif tag in layout.cells:
                cells.append([])
            elif tag in layout.rows:
                rows.append([])
            continue
        if tag in layout.paragraphs:
            open_paragraphs -= 1
            run.check_time()
            text = " ".join(paragraph_text(element, layout).split())
            if text:
                put(text)
        elif tag in layout.cells and cells:
            cell = " ".join(cells.pop())
            if rows:
                rows[-1].append(cell)
            elif cell:
                put(cell)
        elif tag in layout.rows and rows:
            put(" | ".join(c for c in rows.pop() if c))
        if open_paragraphs == 0 or tag in layout.paragraphs:
            free(element)


def paragraph_text(element: Any, layout: Layout) -> str:
    """The text of mixed content, in document order, with tabs and breaks as spaces."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if node.tag in layout.spaces:
            out.append(" ")
        if node.text:
            out.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                out.append(child.tail)

    walk(element)
    return "".join(out)


def read_shared_strings(stream: Stream, run: Run) -> list[str]:
    """An XLSX workbook's shared strings table (cells refer to it by index)."""
    strings: list[str] = []
    for event, element in iterparse(stream, run):
        if event == "end" and element.tag == S + "si":
            if len(strings) % 1000 == 0:
                run.check_time()
            strings.append("".join(t.text or "" for t in element.iter(S + "t")))
            free(element)
    return strings


def read_sheet(stream: Stream, strings: list[str], run: Run) -> None:
    """One XLSX worksheet: a line per row, its values joined by `` | ``."""
    row: list[str] = []
    for event, element in iterparse(stream, run):
        if event != "end":
            continue
        if element.tag == S + "c":
            value = _cell_value(element, strings)
            if value:
                row.append(value)
            free(element)
        elif element.tag == S + "row":
            run.count_cells(max(len(row), 1))
            if row:
                run.add(" | ".join(row))
            row = []
            free(element)


def _cell_value(cell: Any, strings: list[str]) -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(S + "t"))
    value = cell.findtext(S + "v") or ""
    if kind == "s":
        try:
            return strings[int(value)]
        except (ValueError, IndexError):
            return ""
    return value


def sheet_names(stream: Stream, run: Run) -> list[str]:
    names = []
    for event, element in iterparse(stream, run):
        if event == "end" and element.tag == S + "sheet":
            names.append(element.get("name") or "")
    return names
