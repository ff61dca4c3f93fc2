"""Text out of every supported file type; broken and hostile files get a clear outcome."""

from __future__ import annotations

import json

import documents
import pytest

from piiq.detect import Detector, Source
from piiq.detect import files as file_text
from piiq.detect.files import Limits, extract_text


def scanned(name: str, data: bytes, **limits) -> str:
    result = extract_text(name, data, Limits(**limits))
    assert result.status == "scanned", result.reason
    return result.text


def decision(detector: Detector, text: str) -> str:
    return detector.scan([Source("file", text, slack_markup=False)]).decision.action


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", b"my ssn is 536-22-1894\n"),
        ("notes.md", b"# HR\n* SSN: 536-22-1894\n"),
        ("people.csv", b"name,ssn\nAda,536-22-1894\n"),
        ("people.tsv", b"name\tssn\nAda\t536-22-1894\n"),
        ("dump.json", json.dumps({"user": {"ssn": "536-22-1894", "ok": True}}).encode()),
        ("report.pdf", documents.pdf(["Quarterly report", "ssn 536-22-1894"])),
        ("letter.docx", documents.docx(["Dear Ada,"], table=[["ssn", "536-22-1894"]])),
        ("sheet.xlsx", documents.xlsx([["name", "ssn"], ["Ada", "536-22-1894"]])),
        ("report.txt", documents.pdf(["ssn 536-22-1894"])),  # a PDF with the wrong extension
    ],
)
def test_each_file_type_yields_its_text(detector: Detector, name: str, data: bytes) -> None:
    text = scanned(name, data)
    assert "536-22-1894" in text
    assert decision(detector, text) == "delete"


def test_pdf_digits_broken_over_lines_are_rejoined(detector: Detector) -> None:
    text = scanned("card.pdf", documents.pdf(["card number 4", "539 1488 0343 6467"]))
    assert decision(detector, text) == "delete"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.pdf", documents.encrypted_pdf(), "encrypted PDF"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "unreadable pdf file"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "broken zip"),
        ("bomb.docx", documents.zip_bomb(5_000_000), "possible zip bomb"),
        ("blob.bin", bytes(range(256)) * 10, "unsupported file type"),
    ],
)
def test_broken_and_hostile_files_are_reported_not_passed(
    name: str, data: bytes, reason: str
) -> None:
    result = extract_text(name, data, Limits(max_unzipped_bytes=1_000_000))
    assert result.status == "not_scanned"
    assert reason in result.reason


def test_size_and_page_limits() -> None:
    big = extract_text("big.txt", b"x" * 2000, Limits(max_bytes=1000))
    assert big.status == "not_scanned" and "too large: 2,000 bytes (limit 1,000)" in big.reason
    cut = extract_text("long.txt", b"y" * 5000, Limits(max_text_chars=100))
    assert cut.status == "scanned" and len(cut.text) == 100 and "first 100 characters" in cut.reason


def test_image_without_ocr_is_not_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_text.shutil, "which", lambda name: None)
    result = extract_text("screenshot.png", documents.png("ssn 536-22-1894"))
    assert result.status == "not_scanned"
    assert result.reason == "not scanned: OCR unavailable (install Debian's tesseract-ocr)"


@pytest.mark.skipif(
    not file_text.ocr_available(),
    reason="Tesseract is not installed here (apt-get install tesseract-ocr)",
)
def test_image_with_ocr_is_scanned(detector: Detector) -> None:
    text = scanned("screenshot.png", documents.png("My SSN is 536-22-1894"))
    assert decision(detector, text) == "delete"
