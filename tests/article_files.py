"""Article files made by the tests themselves: a saved web page with navigation, teasers and a
comment section around the article, a PDF written with pypdf (text layer, metadata; also
image-only and password-protected variants), a Word file written with python-docx, and hostile
files (a zip bomb, deeply nested HTML). Each article is fictional, so only its file can answer
questions about it."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import docx
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

HTML_TITLE = "Harbour city opens floating library"
HTML_FACT = "The barge, named Papyrus, holds 12,000 books and moors at a different quay every month."
HTML_QUESTION = "What is the name of the barge that holds the floating library in Velmora?"
HTML_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{HTML_TITLE} | The Coastal Gazette</title>
<meta property="og:title" content="{HTML_TITLE}">
<meta name="author" content="Lena Brook">
<meta property="article:published_time" content="2025-04-09T08:30:00+02:00">
<style>body {{ font-family: serif; }}</style>
<script>window.dataLayer = [];</script>
</head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li></ul></nav>
<div class="menu">Subscribe | Log in | Newsletter</div></header>
<aside class="teasers"><h3>Most read</h3><ul><li><a href="/a">Mayor cuts ribbon at new bridge</a></li>
<li><a href="/b">Storm warning for the weekend</a></li></ul></aside>
<main><article>
<h1>{HTML_TITLE}</h1>
<p class="byline">By Lena Brook</p>
<p>The harbour city of Velmora opened a floating library on a converted cargo barge on Wednesday. {HTML_FACT}</p>
<p>Head librarian Tomas Ekdahl said the project cost 3.2 million euros, most of it paid by a regional culture fund.
The library expects 40,000 visitors in its first year.</p>
<p>Children from the harbour district will get free reading lessons on board every Saturday morning, Ekdahl said.</p>
</article></main>
<section id="comments"><h2>Comments (2)</h2>
<div class="comment"><p>Great idea, but who pays for the diesel? Posted by harbourfan</p></div>
<div class="comment"><p>I will visit with my kids next week!!! Posted by anna_k</p></div>
</section>
<footer><p>© 2025 The Coastal Gazette. All rights reserved. Privacy | Imprint | Contact</p></footer>
</body></html>
"""
HTML_FURNITURE = ("Most read", "Subscribe", "Storm warning", "harbourfan", "diesel", "All rights reserved", "dataLayer")

PDF_TITLE = "Wind farm approved off the coast of Halden"
PDF_LINES = [
    PDF_TITLE,
    "The regional council of Halden approved a wind farm with 42 turbines on",
    "Tuesday. Construction is to start in 2026 and will cost 610 million euros.",
    "Council leader Mara Lindqvist said the turbines will supply 180,000 homes",
    "once the farm is complete.",
    "",
    "Fishermen in the harbour asked for a safety zone around the construction site.",
]
PDF_FACT = "The regional council of Halden approved a wind farm with 42 turbines on Tuesday."
PDF_QUESTION = "How many turbines will the Halden wind farm have?"

DOCX_TITLE = "Seed bank opens in Kestrel Valley"
DOCX_FACT = "The Kestrel Valley seed bank, founded by the botanist Ilse Marren, opened on Monday in the town of Orvik."
DOCX_PARAGRAPHS = [
    DOCX_FACT,
    "It stores seeds of 3,400 regional plant varieties in a vault cooled to minus 18 degrees.",
    "Marren said farmers can borrow seeds for free and return twice as many after the harvest.",
]
DOCX_QUESTION = "Which botanist founded the Kestrel Valley seed bank?"


def html_page() -> bytes:
    return HTML_PAGE.encode("utf-8")


def html_without_article() -> bytes:
    """A page of navigation and links only: nothing to extract."""
    links = "".join(f'<li><a href="/{i}">Section {i}</a></li>' for i in range(30))
    return (
        f"<!DOCTYPE html><html><head><title>Index</title></head><body><nav><ul>{links}</ul></nav>"
        "<footer>© 2025</footer></body></html>"
    ).encode()


def nested_html(depth: int = 5000) -> bytes:
    return (
        b"<!DOCTYPE html><html><body>"
        + b"<div>" * depth
        + b"<p>"
        + HTML_FACT.encode() * 3
        + b"</p>"
        + b"</div>" * depth
        + b"</body></html>"
    )


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_file(
    pages: list[list[str]] | None = None,
    title: str | None = PDF_TITLE,
    created: str | None = "D:20250312090000+01'00'",
    image_only: bool = False,
    password: str | None = None,
) -> bytes:
    """A PDF written with pypdf: Helvetica text lines (a real text layer), or a grey image and no
    text (a scan), with /Title and /CreationDate, optionally encrypted with AES-128."""
    writer = PdfWriter()
    for lines in pages or [PDF_LINES]:
        page = writer.add_blank_page(612, 792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        resources = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        if image_only:
            image = DecodedStreamObject()
            image.set_data(bytes(range(256)) * 256)
            image.update(
                {
                    NameObject("/Type"): NameObject("/XObject"),
                    NameObject("/Subtype"): NameObject("/Image"),
                    NameObject("/Width"): NumberObject(256),
                    NameObject("/Height"): NumberObject(256),
                    NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                    NameObject("/BitsPerComponent"): NumberObject(8),
                }
            )
            resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Im1"): writer._add_object(image)})
            ops = ["q 400 0 0 400 100 300 cm /Im1 Do Q"]
        else:
            ops = ["BT /F1 11 Tf 14 TL 72 740 Td"] + [f"({_escape(line)}) Tj T*" if line else "T*" for line in lines]
            ops.append("ET")
        page[NameObject("/Resources")] = resources
        content = DecodedStreamObject()
        content.set_data("\n".join(ops).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(content)
    metadata = {k: v for k, v in (("/Title", title), ("/CreationDate", created)) if v}
    if metadata:
        writer.add_metadata(metadata)
    if password:
        writer.encrypt(user_password=password, owner_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_file(
    title: str | None = DOCX_TITLE,
    created: datetime | None = datetime(2025, 5, 19, 7, 0, tzinfo=UTC),
    language: str | None = "en-GB",
) -> bytes:
    """A Word file written with python-docx: a title, a heading, paragraphs and a table, with core
    properties (title, created, language)."""
    document = docx.Document()
    document.add_heading(DOCX_TITLE, 0)
    for text in DOCX_PARAGRAPHS[:2]:
        document.add_paragraph(text)
    document.add_heading("Opening hours", 1)
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate((("Weekdays", "8 am to 4 pm"), ("Saturday", "9 am to noon"))):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph(DOCX_PARAGRAPHS[2])
    props = document.core_properties
    if title:
        props.title = title
    if created:
        props.created = created
    if language:
        props.language = language
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb_docx(unpacked: int = 101_000_000) -> bytes:
    """A .docx-shaped ZIP whose document.xml unpacks to over 100 MB of zeros (~100 KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(unpacked // 1_000_000):
                member.write(b"\0" * 1_000_000)
    return out.getvalue()


def many_members_docx(members: int = 1_001) -> bytes:
    """A .docx-shaped ZIP with more members than a Word file ever has."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(members - 1):
            archive.writestr(f"word/media/part{i}.xml", "<x/>")
    return out.getvalue()
