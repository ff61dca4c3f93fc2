"""Text out of every supported file type, through the child process the workers use;
files that cannot be fully read get an outcome of their own, never "scanned"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from piiq.detect import Detector, Source
from piiq.filetext import Limits, extract_text, ocr_available
from piiq.filetext.child import _child_env
from piiq.filetext.verdict import file_verdict
from tests.support import documents

SSN = "536-22-1894"


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
        ("dump.json", json.dumps({"user": {"ssn": SSN, "ok": True}}).encode()),
        ("report.pdf", documents.pdf(["Quarterly report", f"ssn {SSN}"])),
        ("letter.docx", documents.docx(["Dear Ada,"], table=[["ssn", SSN]])),
        ("sheet.xlsx", documents.xlsx([["name", "ssn"], ["Ada", SSN]])),
        ("report.txt", documents.pdf([f"ssn {SSN}"])),  # a PDF with the wrong extension
        # Containers and formats that were "unsupported file type" before:
        ("deck.pptx", documents.pptx([["Quarterly"], [f"SSN {SSN}"]])),
        ("letter.odt", documents.odt([f"Dear <text:span>Ada</text:span>, ssn<text:tab/>{SSN}"])),
        ("sheet.ods", documents.ods([["name", "ssn"], ["Ada", SSN]])),
        ("old.xls", documents.xls([["name", "ssn"], ["Ada", SSN]])),
        ("letter.rtf", documents.rtf(f"my ssn is {SSN}")),
        ("notes.zip", documents.archive({"hr/people.csv": f"name,ssn\nAda,{SSN}\n".encode()})),
        (
            "nested.zip",
            documents.archive(
                {"inner.zip": documents.archive({"form.pdf": documents.pdf([f"SSN {SSN}"])})}
            ),
        ),
    ],
)
def test_each_file_type_yields_its_text(detector: Detector, name: str, data: bytes) -> None:
    text = scanned(name, data)
    assert SSN in text
    assert decision(detector, text) == "delete"


def test_titles_sheet_names_and_member_names_are_text_too() -> None:
    assert "Ada Lovelace 536-22-1894" in scanned(
        "deck.pptx", documents.pptx([["agenda"]], title=f"Ada Lovelace {SSN}")
    )
    assert f"ssn {SSN}" in scanned("old.xls", documents.xls([["x"]], sheet=f"ssn {SSN}"))
    assert f"ssn {SSN}.txt" in scanned("a.zip", documents.archive({f"ssn {SSN}.txt": b"hi"}))


def test_a_card_number_stored_as_a_number_in_xls_reads_as_written(detector: Detector) -> None:
    text = scanned("cards.xls", documents.xls([["card", 4539148803436467]]))
    assert "card | 4539148803436467" in text and decision(detector, text) == "delete"


def test_pdf_digits_broken_over_lines_are_rejoined(detector: Detector) -> None:
    text = scanned("card.pdf", documents.pdf(["card number 4", "539 1488 0343 6467"]))
    assert decision(detector, text) == "delete"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.pdf", documents.encrypted_pdf(), "encrypted PDF"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "unreadable pdf file"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "not a valid zip file"),
        ("bomb.docx", documents.zip_bomb(5_000_000), "possible zip bomb"),
        ("blob.bin", bytes(range(256)) * 10, "unsupported file type"),
        ("locked.docx", documents.OLE_MAGIC + b"\x00" * 600, "encrypted (password-protected)"),
        ("memo.doc", documents.OLE_MAGIC + b"\x00" * 600, "legacy Word 97-2003 (.doc)"),
        ("huge.png", documents.png_header(9000, 9000), "image too large: 9000 x 9000 pixels"),
    ],
)
def test_files_that_cannot_be_read_are_not_scanned(name: str, data: bytes, reason: str) -> None:
    result = extract_text(name, data, Limits(max_unzipped_bytes=1_000_000))
    assert (result.status, result.text) == ("not_scanned", "")
    assert reason in result.reason


def test_pii_past_the_page_limit_makes_the_pdf_partly_scanned() -> None:
    """The review's case: only the page past the limit holds the SSN. It was "allow"."""
    data = documents.pdf_pages(["agenda", "minutes", f"ssn {SSN}"])
    result = extract_text("long.pdf", data, Limits(max_pdf_pages=2))
    assert result.status == "partly_scanned" and result.reason == "first 2 of 3 pages"
    assert SSN not in result.text and "minutes" in result.text


def test_text_past_the_character_limit_is_partly_scanned() -> None:
    cut = extract_text("long.txt", b"y" * 5000, Limits(max_text_chars=100))
    assert (cut.status, len(cut.text), cut.reason) == (
        "partly_scanned",
        100,
        "first 100 characters",
    )


def test_the_size_limit_is_checked_before_anything_is_read() -> None:
    big = extract_text("big.txt", b"x" * 2000, Limits(max_bytes=1000))
    assert big.status == "not_scanned" and big.reason == "too large: 2,000 bytes (limit 1,000)"


def test_archives_say_which_member_was_not_read() -> None:
    data = documents.archive(
        {"notes.txt": b"agenda", "salaries.pdf": b"%PDF-", "tool.exe": bytes(range(256)) * 4},
        encrypted=("salaries.pdf",),
    )
    result = extract_text("bundle.zip", data)
    assert result.status == "partly_scanned" and "agenda" in result.text
    assert result.reason == (
        "salaries.pdf: encrypted (password-protected); tool.exe: unsupported file type"
    )
    # What goes to logs, audit rows and DMs names no member (names are text).
    assert result.summary == "encrypted (password-protected); unsupported file type"


def test_archive_bounds_depth_members_and_member_size() -> None:
    nested = documents.archive({"a.txt": b"hi"})
    for level in range(4):
        nested = documents.archive({f"level{level}.zip": nested})
    deep = extract_text("deep.zip", nested)
    assert deep.status == "partly_scanned"
    assert deep.reason.endswith("an archive nested more than 3 levels deep")
    many = extract_text(
        "many.zip", documents.archive({f"{i}.txt": b"x" for i in range(5)}), Limits(max_members=3)
    )
    assert many.status == "partly_scanned" and many.reason == "first 3 of 5 entries"
    big = extract_text(
        "big.zip", documents.archive({"big.txt": b"ab" * 600}), Limits(max_part_bytes=1000)
    )
    assert big.reason == "big.txt: larger than 1,000 bytes expanded (the per-member limit)"


def test_the_expanding_docx_is_decided_fast_and_never_as_scanned() -> None:
    """184 KB holding 60 MB of document.xml took 53 s and 2.4 GB before. Refused by its
    compression ratio; with that check off, bounded by the text limit, the per-part cap
    and the clock in turn: always partly scanned, with the reason."""
    data = documents.expanding_docx(60_000_000, secret=f"ssn {SSN}")
    assert len(data) < 300_000
    refused = extract_text("big.docx", data)
    assert refused.status == "not_scanned" and "possible zip bomb" in refused.reason
    no_ratio = {"max_ratio": 10**6}
    by_text = extract_text("big.docx", data, Limits(**no_ratio, max_text_chars=50_000))
    assert (by_text.status, by_text.reason) == ("partly_scanned", "first 50,000 characters")
    by_part = extract_text("big.docx", data, Limits(**no_ratio, max_part_bytes=1_000_000))
    assert by_part.status == "partly_scanned"
    assert (
        by_part.reason == "word/document.xml: first 1,000,000 bytes expanded (the per-part limit)"
    )
    by_clock = extract_text(
        "big.docx", data, Limits(**no_ratio, max_text_chars=10**9, max_seconds=0.3)
    )
    assert (by_clock.status, by_clock.reason) == ("partly_scanned", "stopped after 0.3 s")
    assert SSN not in by_clock.text


def test_an_extraction_that_ignores_the_clock_is_killed() -> None:
    """pypdf works through one page's content stream in one call: the child is killed at
    the hard timeout, and the file is not scanned (never clean)."""
    result = extract_text(
        "slow.pdf", documents.slow_pdf(2_000_000), Limits(max_seconds=0.5, kill_after_seconds=1)
    )
    assert result.status == "not_scanned"
    assert result.reason == "extraction exceeded 1.5 s and was stopped"


def test_an_extraction_over_its_memory_limit_is_not_scanned() -> None:
    data = json.dumps([12345] * 2_500_000).encode()  # 17 MB; several hundred MB as objects
    result = extract_text("numbers.json", data, Limits(max_memory_bytes=150 * 1024 * 1024))
    assert result.status == "not_scanned"
    assert result.reason == "extraction needed more than 150 MiB of memory"


def test_the_child_gets_no_piiq_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIIQ_SLACK_BOT_TOKEN", "xoxb-child-must-not-see")
    assert not [name for name in _child_env() if name.startswith("PIIQ_")]


def test_image_without_ocr_is_not_scanned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the child finds no tesseract
    result = extract_text("screenshot.png", documents.png(f"ssn {SSN}"))
    assert result.status == "not_scanned"
    assert result.reason == "an image, and OCR is not installed (Debian's tesseract-ocr)"


@pytest.mark.skipif(
    not ocr_available(), reason="Tesseract is not installed here (apt-get install tesseract-ocr)"
)
def test_image_with_ocr_is_scanned(detector: Detector) -> None:
    text = scanned("screenshot.png", documents.png(f"My SSN is {SSN}"))
    assert decision(detector, text) == "delete"


@pytest.mark.parametrize(
    ("findings", "coverage", "unscannable", "expected"),
    [
        ("allow", "scanned", "alert", ("allow", False, False)),
        ("warn", "scanned", "delete", ("warn", False, False)),
        ("delete", "partly_scanned", "warn", ("delete", False, False)),
        ("allow", "not_scanned", "alert", ("warn", True, True)),
        ("allow", "partly_scanned", "warn", ("warn", True, False)),
        ("warn", "not_scanned", "delete", ("delete", True, False)),
    ],
)
def test_a_file_not_fully_read_is_never_allowed(findings, coverage, unscannable, expected) -> None:
    verdict = file_verdict(findings, coverage, "why", unscannable)
    assert (verdict.action, verdict.unchecked, verdict.alert_admins) == expected
    assert verdict.outcome == (coverage if verdict.unchecked else findings)
