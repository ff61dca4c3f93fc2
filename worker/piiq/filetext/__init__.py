"""Text out of files, within bounds, never crashing on a broken or hostile file.

    extraction = extract_text("report.pdf", data)   # in a child process (see child.py)
    extraction.status   # "scanned", "partly_scanned" or "not_scanned"
    extraction.reason   # why not, in words: "encrypted PDF ...", "first 200 of 201 pages"

Formats: text, Markdown, CSV/TSV, JSON, RTF, PDF, DOCX, XLSX, PPTX, ODT/ODS/ODP, XLS,
images (OCR with Tesseract), and zip archives of any of these (nested up to
``Limits.max_depth``). Legacy .doc and .ppt files are reported as not scanned. A file
that was not fully read is never reported as clean: ``verdict.file_verdict`` says what
happens to it. This package imports no detection code: the child process starts lean.
"""

from .child import extract_text
from .extract import Extraction, extract_here
from .formats import ocr_available
from .limits import Limits
from .pdfjoin import join_wrapped_digits
from .sniff import Kind, sniff

__all__ = [
    "Extraction",
    "Kind",
    "Limits",
    "extract_here",
    "extract_text",
    "join_wrapped_digits",
    "ocr_available",
    "sniff",
]
