"""qa.text.formats without models: the three formats extracted from files the tests write (boilerplate
gone, title/date from metadata, text stored one paragraph per line), every bad input refused by
one typed error with a clear message, and the same path through Assistant.add_document and
`qa index --add` (with the tiny HashEmbedder: bookkeeping, not retrieval)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from article_files import (
    DOCX_FACT,
    DOCX_TITLE,
    HTML_FACT,
    HTML_FURNITURE,
    HTML_TITLE,
    PDF_FACT,
    PDF_TITLE,
    docx_file,
    html_page,
    html_without_article,
    many_members_docx,
    nested_html,
    pdf_file,
    zip_bomb_docx,
)
from conftest import ARTICLE_DE, SEEDS, HashEmbedder, tmp_config, tree

from qa.answering.assistant import Assistant
from qa.store.build import load_or_build_store
from qa.store.faiss_index import Index
from qa.store.ingest import ingest
from qa.text.corpus import CorpusError
from qa.text.formats import FileTooLarge, FormatError, UnsupportedFormat, extract, sniff

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


# -- the formats -----------------------------------------------------------------------------------
def test_html_keeps_the_article_and_drops_menus_teasers_and_comments():
    found = extract("velmora.html", html_page())
    assert found.source_type == "html" and found.source == "velmora.html" and found.converted
    assert found.title == HTML_TITLE and found.date == "2025-04-09"
    assert HTML_FACT in found.text.splitlines()[2] or any(HTML_FACT in line for line in found.text.splitlines())
    assert found.text.startswith(HTML_TITLE + "\n\n")
    for furniture in HTML_FURNITURE:
        assert furniture not in found.text, furniture
    assert found.suffix == ".txt"


def test_pdf_text_layer_is_joined_into_paragraphs_with_metadata():
    found = extract("halden.pdf", pdf_file())
    assert found.source_type == "pdf" and found.title == PDF_TITLE and found.date == "2025-03-12"
    paragraphs = found.text.split("\n\n")
    assert paragraphs[0] == PDF_TITLE  # a headline is its own paragraph
    assert PDF_FACT in paragraphs[1]  # a sentence broken across two lines is whole again
    assert "180,000 homes once the farm is complete." in found.text


def test_docx_paragraphs_and_table_in_order_with_core_properties():
    found = extract("seed-bank.docx", docx_file())
    assert found.source_type == "docx" and found.title == DOCX_TITLE and found.date == "2025-05-19"
    lines = found.text.split("\n\n")
    assert lines[0] == DOCX_TITLE and lines[1] == DOCX_FACT
    assert lines.index("Weekdays | 8 am to 4 pm") < lines.index("Saturday | 9 am to noon") < len(lines) - 1
    # python-docx's template creation date (2013-12-23) is not the article's
    assert extract("plain.docx", docx_file(title=None, created=None)).date is None


def test_declared_language_is_used_only_where_the_text_is_too_short_to_tell():
    assert extract("seed-bank.docx", docx_file(language="de-DE")).lang is None  # English text: the text decides
    short = pdf_file([["Kurzmeldung aus Orvik am Montag."]], title=None)
    assert extract("short.pdf", short).lang is None  # no declared language
    assert extract("velmora.html", html_page()).lang is None


def test_text_files_are_decoded_as_before():
    found = extract("lindenau.txt", ARTICLE_DE.encode("cp1252"))
    assert found.text == ARTICLE_DE and found.source_type == "txt" and not found.converted and found.suffix == ".txt"
    assert extract("notes.md", b"<p align=center>logo</p>\n\n" + ARTICLE_DE.encode()).source_type == "md"


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"%PDF-1.7\n...", "pdf"),
        (b"\n\n%PDF-1.4", "pdf"),
        (PNG, "png"),
        (b"\xff\xd8\xff\xe0JFIF", "jpeg"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50, "ole"),
        (b"{\\rtf1\\ansi hello}", "rtf"),
        (b"  <!DOCTYPE html><html><body>x</body></html>", "html"),
        (b"\xef\xbb\xbf<html lang=de>", "html"),
        (b"<!-- saved --> <html>", "html"),
        (ARTICLE_DE.encode(), "text"),
        (b"PK\x03\x04garbage", "zip"),
    ],
)
def test_sniffing_judges_the_bytes(data, kind):
    assert sniff(data) == kind
    assert sniff(docx_file()) == "docx"


# -- bad input: one message each, all FormatError (a CorpusError) -----------------------------------
BAD = [
    ("locked.pdf", lambda: pdf_file(password="s3cret"), FormatError, "is encrypted (password-protected)"),
    (
        "scan.pdf",
        lambda: pdf_file(image_only=True),
        FormatError,
        "no text layer (1 page, no extractable text): this PDF needs OCR",
    ),
    ("menu.html", html_without_article, FormatError, "no article text found in menu.html"),
    ("empty.pdf", lambda: b"", FormatError, "empty.pdf is empty"),
    ("report.pdf", html_page, UnsupportedFormat, "report.pdf is not a PDF: its content looks like an HTML page"),
    (
        "report.docx",
        lambda: ARTICLE_DE.encode(),
        UnsupportedFormat,
        "report.docx is not a Word document (.docx): its content looks like plain text",
    ),
    ("wire.docx", lambda: pdf_file(), UnsupportedFormat, "its content looks like a PDF; name it .pdf to add it"),
    ("photo.html", lambda: PNG, UnsupportedFormat, "photo.html is not an HTML page: its content looks like a PNG"),
    (
        "page.txt",
        html_page,
        UnsupportedFormat,
        "page.txt is not plain text: its content looks like an HTML page; name it .html",
    ),
    ("photo.txt", lambda: PNG, UnsupportedFormat, "photo.txt looks binary: its content is a PNG image"),
    (
        "letter.doc",
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
        UnsupportedFormat,
        "only .txt, .md, .html, .htm, .pdf, .docx files can be added",
    ),
    (
        "big.pdf",
        lambda: b"%PDF-1.4\n" + b"0" * 20_000_000,
        FileTooLarge,
        "big.pdf is 20,000,009 bytes; the limit is 20,000,000 bytes (20 MB) for .html, .pdf and .docx files",
    ),
    ("big.txt", lambda: b"a" * 2_000_001, FileTooLarge, "the limit is 2,000,000 bytes (2 MB) for .txt and .md files"),
    ("bomb.docx", zip_bomb_docx, FormatError, "bomb.docx unpacks to 101,000,008 bytes; the limit is 100,000,000"),
    ("crowded.docx", many_members_docx, FormatError, "holds 1,001 files in its ZIP container"),
    ("deep.html", nested_html, FormatError, "nests its elements more than 200 deep"),
    (
        "broken.pdf",
        lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n" + b"x" * 100,
        FormatError,
        "broken.pdf is not a readable PDF (PdfStreamError",
    ),
]


@pytest.mark.parametrize("name, make, error, message", BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_refused_with_a_clear_message(name, make, error, message):
    with pytest.raises(error) as err:
        extract(name, make())
    assert message in str(err.value)
    assert isinstance(err.value, CorpusError)


# -- the same path for uploads and `qa index --add` -------------------------------------------------
@pytest.fixture
def assistant(tmp_path):
    (tmp_path / "seeds").mkdir()  # one seed article: the index builds in a moment
    shutil.copy(min(SEEDS.glob("*.txt")), tmp_path / "seeds")
    a = Assistant(tmp_config(tmp_path))
    a._embedder = HashEmbedder()
    return a


def test_converted_upload_is_stored_as_text_with_its_source_and_survives_a_rebuild(assistant, tmp_path):
    cfg = assistant.cfg
    doc_id = assistant.add_document("Velmora Library.html", html_page())
    doc = assistant.store.document(doc_id)
    stored = cfg.paths.uploads_dir / f"{doc_id}.txt"
    assert doc.text == stored.read_text(encoding="utf-8") and doc.path == str(stored)
    assert (doc.title, doc.date, doc.lang) == (HTML_TITLE, "2025-04-09", "en")
    assert (doc.source, doc.source_type) == ("Velmora Library.html", "html")
    assert json.loads((cfg.paths.uploads_dir / f"{doc_id}.source.json").read_text())["source"] == "Velmora Library.html"
    start = doc.text.index(HTML_FACT)
    assert doc.text[start : start + len(HTML_FACT)] == HTML_FACT  # citations are offsets into the stored text
    # the same file again is a duplicate; a rebuild from the files makes the same Document
    with pytest.raises(CorpusError, match=f"already indexed as {doc_id}"):
        assistant.add_document("copy.html", html_page())
    rebuilt = load_or_build_store(cfg, HashEmbedder(), rebuild=True, log=lambda m: None).document(doc_id)
    assert rebuilt == doc


def test_a_refused_file_changes_nothing(assistant):
    cfg = assistant.cfg
    _ = assistant.store  # the index exists
    before = tree(cfg.paths.index_dir), tree(cfg.paths.uploads_dir)
    for name, make, _error, message in BAD[:3]:
        with pytest.raises(CorpusError, match=re.escape(message)):
            assistant.add_document(name, make())
    assert (tree(cfg.paths.index_dir), tree(cfg.paths.uploads_dir)) == before


def test_ingest_reads_every_format_and_lists_bad_files(assistant, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "velmora.html").write_bytes(html_page())
    (folder / "halden.pdf").write_bytes(pdf_file())
    (folder / "seed-bank.docx").write_bytes(docx_file())
    (folder / "scan.pdf").write_bytes(pdf_file(image_only=True))
    (folder / "notes.txt").write_bytes(ARTICLE_DE.encode())
    (folder / "ignored.json").write_text("{}")
    report = ingest(assistant.add_document, folder, progress=False)
    assert sorted(name for name, _ in report.added) == ["halden.pdf", "notes.txt", "seed-bank.docx", "velmora.html"]
    assert [name for name, _ in report.errors] == ["scan.pdf"] and "needs OCR" in report.errors[0][1]
    docs = Index.load(assistant.cfg.paths.index_dir).docs
    assert {d.source_type for d in docs.values() if d.source} == {"html", "pdf", "docx", "txt"}
