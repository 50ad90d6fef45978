"""Article files as a newsroom has them: saved web pages, PDFs, Word files and plain text.

``extract(name, data)`` turns an uploaded file into an ``Extracted``: the text that is stored,
chunked and cited (one paragraph per line, so citations are offsets into it), the original file
name and type, and the title, date and language the file's own metadata gives.

- HTML (.html, .htm): trafilatura finds the article's main text (menus, teasers, related links and
  comment sections are left out) and the title and publication date from the page's metadata.
- PDF: pypdf reads the text layer; lines are joined back into paragraphs (a sentence broken
  across lines would otherwise be cut in two by the sentence splitter). Title and creation date
  from the document information dictionary.
- Word (.docx): python-docx reads the body's paragraphs and tables in order; title, creation date
  and language from the core properties.
- .txt and .md: decoded as before (qa.text.corpus.decode: UTF-8, UTF-16 or a legacy encoding).

The type is judged from the bytes (magic numbers, HTML sniffing), not from the name: a file whose
content is not what its extension says is refused, and the message says what it looks like.
Every refusal is a ``FormatError`` (a ``CorpusError``) with a message for the person who sent
the file, raised before anything is stored.

Limits (each refusal states its limit): 2 MB for .txt/.md files and 20 MB for HTML, PDF and
Word files; 2 MB (UTF-8) of extracted text, the limit of a stored article; 500 PDF pages;
HTML nested at most 200 elements deep (libxml2 silently stops at 256) and 500,000 elements; a
.docx of at most 1,000 ZIP members that unpack to at most 100 MB (a zip bomb is refused
before anything is decompressed).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import docx
import pypdf
import trafilatura
from docx.table import Table
from trafilatura.utils import load_html

from qa.text.corpus import MAX_DOC_BYTES, CorpusError, decode
from qa.text.lang import NAMES

# extension → the type the content must have
SUFFIXES: dict[str, str] = {".txt": "txt", ".md": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
TEXT_TYPES = ("txt", "md")  # stored as they are; the other types are stored as extracted text (.txt)
MAX_TEXT_FILE_BYTES = MAX_DOC_BYTES  # .txt / .md, as before
MAX_FILE_BYTES = 20_000_000  # .html / .pdf / .docx
MAX_TEXT_BYTES = MAX_DOC_BYTES  # extracted text (UTF-8): what a stored article file may hold
MAX_PDF_PAGES = 500
MAX_HTML_DEPTH = 200
MAX_HTML_ELEMENTS = 500_000
MAX_ZIP_MEMBERS = 1_000
MAX_UNZIPPED_BYTES = 100_000_000
MIN_LETTERS = 20  # less than this is "no text" (an image-only PDF, an empty page)

# What the content looks like, for messages ("… looks like a PNG image")
_LOOKS = {
    "txt": "plain text",
    "md": "Markdown text",
    "text": "plain text",
    "html": "an HTML page",
    "pdf": "a PDF",
    "docx": "a Word document (.docx)",
    "xlsx": "an Excel workbook (.xlsx)",
    "pptx": "a PowerPoint presentation (.pptx)",
    "odt": "an OpenDocument file",
    "epub": "an EPUB e-book",
    "zip": "a ZIP archive",
    "ole": "a legacy Office file (.doc/.xls/.ppt: save it as .docx or .pdf)",
    "rtf": "an RTF document (save it as .docx or .txt)",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "gif": "a GIF image",
    "webp": "a WebP image",
    "tiff": "a TIFF image",
    "gzip": "a gzip archive",
    "7z": "a 7-Zip archive",
    "rar": "a RAR archive",
    "binary": "binary data",
}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"{\\rtf", "rtf"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
)
# WHATWG MIME sniffing: a document whose first tag (after whitespace) is one of these is HTML
_HTML_START = re.compile(
    rb"\s*(<!doctype\s+html|<html|<head|<body|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<br|<p"
    rb"|<!--)[\s>/]",
    re.IGNORECASE,
)
_FULL_HTML = re.compile(rb"\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html)[\s>]", re.IGNORECASE | re.DOTALL)
_ANY_TAG = re.compile(rb"<(html|head|body|article|main|p|div|h[1-6]|section)[\s>]", re.IGNORECASE)
# python-docx's default template carries this creation time; a file made from it without setting
# its own says nothing about the article's date
_DOCX_TEMPLATE_DATE = datetime(2013, 12, 23, 23, 15)
_PAGE_NUMBER = re.compile(r"(?i)^(page|seite|p\.|s\.)?\s*\d{1,4}(\s*(/|of|von)\s*\d{1,4})?$")


class FormatError(CorpusError):
    """A file cannot be added; the message says why (and what to do)."""


class UnsupportedFormat(FormatError):
    """The file's type is not one qa reads, or its content is not what its name says."""


class FileTooLarge(FormatError):
    """The file, or the text in it, is over a stated limit."""


@dataclass(frozen=True)
class Extracted:
    """An uploaded file's article text and what its metadata says about it."""

    text: str  # what is stored, chunked and cited
    source: str  # the original file name, e.g. "report.pdf"
    source_type: str  # "txt", "md", "html", "pdf", "docx"
    title: str | None = None  # from the file's metadata; None: qa.text.corpus's heuristics decide
    date: str | None = None  # YYYY-MM-DD, from the metadata
    lang: str | None = None  # ISO 639-1 from the metadata, used only where the text is too short to detect

    @property
    def converted(self) -> bool:
        """Stored as extracted text rather than as the file it came in."""
        return self.source_type not in TEXT_TYPES

    @property
    def suffix(self) -> str:
        """The stored article file's extension."""
        return ".txt" if self.converted else f".{self.source_type}"

    def metadata(self) -> dict:
        """Keyword arguments of qa.text.corpus.make_document (None: decided from the text)."""
        return {
            "title": self.title,
            "date": self.date,
            "lang": self.lang,
            "source": self.source,
            "source_type": self.source_type,
        }


def describe_limits() -> str:
    return (
        f"{MAX_TEXT_FILE_BYTES // 1_000_000} MB for .txt and .md files, "
        f"{MAX_FILE_BYTES // 1_000_000} MB for .html, .pdf and .docx"
    )


def file_type(name: str) -> str:
    """The type a file name's extension announces; UnsupportedFormat for any other extension."""
    kind = SUFFIXES.get(Path(name).suffix.lower())
    if kind is None:
        raise UnsupportedFormat(f"{name}: only {', '.join(SUFFIXES)} files can be added")
    return kind


def size_limit(kind: str) -> int:
    return MAX_TEXT_FILE_BYTES if kind in TEXT_TYPES else MAX_FILE_BYTES


def check_upload(name: str, size: int) -> str:
    """Refuse a file by its name and size alone (before reading it); returns its announced type."""
    kind = file_type(name)
    limit = size_limit(kind)
    if size > limit:
        which = ".txt and .md files" if kind in TEXT_TYPES else ".html, .pdf and .docx files"
        raise FileTooLarge(
            f"{name} is {size:,} bytes; the limit is {limit:,} bytes ({limit // 1_000_000} MB) for {which}"
        )
    return kind


def sniff(data: bytes) -> str:
    """What the bytes are, by magic numbers and HTML sniffing: a key of _LOOKS ("text" for any
    text that is not an HTML document)."""
    head = data[:1024]
    if b"%PDF-" in head:  # readers accept the header anywhere in the first 1,024 bytes
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    text_head = _ascii_head(data)
    if _HTML_START.match(text_head) or _FULL_HTML.match(text_head):
        return "html"
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    return "text"


def _ascii_head(data: bytes) -> bytes:
    """The first bytes as ASCII-compatible text for sniffing (UTF-16 and UTF-8 BOMs removed)."""
    head = data[:4096]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[2:].decode(codec, "ignore").encode("ascii", "ignore")
    return head.removeprefix(b"\xef\xbb\xbf")


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "ppt/presentation.xml" in names:
                return "pptx"
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100]
                return "epub" if b"epub" in mimetype else "odt" if b"opendocument" in mimetype else "zip"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError, RuntimeError):
        pass
    return "zip"


def _fits(kind: str, found: str, data: bytes) -> bool:
    if kind in TEXT_TYPES:  # a Markdown file may hold HTML fragments; a whole HTML page is not text
        return found == "text" or (found == "html" and not _FULL_HTML.match(_ascii_head(data)))
    if kind == "html":
        return found == "html" or (found == "text" and bool(_ANY_TAG.search(data[:65536])))
    return found == kind


def extract(name: str, data: bytes) -> Extracted:
    """The article in an uploaded file; FormatError (or another CorpusError) saying why not."""
    name = Path(name).name or "upload"
    kind = check_upload(name, len(data))
    if not data.strip():
        raise FormatError(f"{name} is empty")
    found = sniff(data)
    if not _fits(kind, found, data):
        if kind in TEXT_TYPES and found not in ("text", "html"):
            raise UnsupportedFormat(
                f"{name} looks binary: its content is {_LOOKS[found]}, not text (the type is "
                "judged from the bytes, not the name)"
            )
        hint = next((f"; name it {s} to add it" for s, k in SUFFIXES.items() if k == found), "")
        raise UnsupportedFormat(
            f"{name} is not {_LOOKS[kind]}: its content looks like {_LOOKS[found]}{hint} (the "
            "type is judged from the bytes, not the name)"
        )
    if kind in TEXT_TYPES:
        return Extracted(decode(data, name), name, kind)
    extracted = {"html": _html, "pdf": _pdf, "docx": _docx}[kind](name, data)
    text = _stored_text(name, extracted.text)
    return Extracted(text, name, kind, extracted.title, extracted.date, _metadata_lang(extracted.lang, text))


def _stored_text(name: str, text: str) -> str:
    """Extracted text as it is stored: NFC, no control characters, one paragraph per line with a
    blank line between; within the stored-article limit and decoding back to itself."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co") else " " for ch in text)
    paragraphs = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    text = "\n\n".join(p for p in paragraphs if p) + "\n"
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise FileTooLarge(
            f"the text extracted from {name} is {size:,} bytes; the limit for an article's text is "
            f"{MAX_TEXT_BYTES:,} bytes ({MAX_TEXT_BYTES // 1_000_000} MB)"
        )
    return decode(text.encode("utf-8"), name)  # the checks every stored article passes (too little text, …)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _metadata_lang(declared: str | None, text: str) -> str | None:
    """The metadata's language where the text cannot tell. A declared language (``<html lang>``,
    DOCX/PDF language) is often a site template's or a word processor's default ("en" on a
    German page), while qa.lang.detect on a whole article is reliable: so the text decides, and
    a valid declared language is kept only for a text too short to detect."""
    if not declared:
        return None
    code = re.split(r"[-_]", declared.strip().lower(), maxsplit=1)[0]
    return code if code in NAMES and _letters(text) < 200 else None


def _iso_date(value) -> str | None:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str):
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(3)) <= 31:
            return m.group(0)
    return None


def _clean_title(title) -> str | None:
    if not isinstance(title, str):
        return None
    title = " ".join(title.split())
    # word processors' placeholders and file names are not titles
    if not title or re.search(r"(?i)^(untitled|microsoft word - )|\.(docx?|pdf|html?|txt)$", title):
        return None
    return title[:300]


# -- HTML --------------------------------------------------------------------------------------
def _html(name: str, data: bytes) -> Extracted:
    try:
        tree = load_html(data)  # decodes by the page's declared or detected charset; lxml parses
    except (ValueError, TypeError) as err:
        raise FormatError(f"{name} could not be parsed as HTML ({err})") from None
    if tree is None:
        raise FormatError(f"{name} could not be parsed as HTML")
    depth, elements = _tree_shape(tree)
    if depth >= MAX_HTML_DEPTH:
        raise FormatError(
            f"{name} nests its elements more than {MAX_HTML_DEPTH} deep (found {depth}); real pages "
            "stay far below that, so it is refused as malformed or hostile"
        )
    if elements > MAX_HTML_ELEMENTS:
        raise FileTooLarge(f"{name} has {elements:,} HTML elements; the limit is {MAX_HTML_ELEMENTS:,}")
    declared = tree.get("lang") or next(iter(tree.xpath("//html/@lang")), None)
    # precision over recall: boilerplate stays out, and a page without an article gives nothing
    # rather than its menus (with the default balance a page of links came back as its link texts)
    found = trafilatura.bare_extraction(
        tree, include_comments=False, include_tables=True, with_metadata=True, favor_precision=True
    )
    body = (found.text or "") if found is not None else ""
    if _letters(body) < MIN_LETTERS:
        raise FormatError(
            f"no article text found in {name}: the page seems to hold only navigation, links or very little text"
        )
    title = _clean_title(found.title)
    if title and body.split("\n", 1)[0].strip() != title:
        body = f"{title}\n{body}"  # the headline is part of the article (searchable and shown first)
    return Extracted(body, name, "html", title, _iso_date(found.date), declared)


def _tree_shape(root) -> tuple[int, int]:
    """(depth, number of elements) of an lxml tree, without recursion."""
    depth = count = 0
    stack = [(root, 1)]
    while stack:
        element, d = stack.pop()
        count += 1
        depth = max(depth, d)
        stack.extend((child, d + 1) for child in element)
    return depth, count


# -- PDF ---------------------------------------------------------------------------------------
def _pdf(name: str, data: bytes) -> Extracted:
    # pypdf parses untrusted bytes and can fail in many ways (its own errors, but also ValueError,
    # KeyError, RecursionError …); every failure becomes one clear message
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):  # no user password: opens like any PDF
            raise FormatError(
                f"{name} is encrypted (password-protected): remove the password, e.g. by saving "
                "or printing it as a new PDF, and upload that"
            )
        pages = len(reader.pages)
        if pages > MAX_PDF_PAGES:
            raise FileTooLarge(f"{name} has {pages:,} pages; the limit is {MAX_PDF_PAGES}")
        texts, size = [], 0
        for page in reader.pages:
            texts.append(page.extract_text() or "")
            size += len(texts[-1].encode("utf-8"))
            if size > 2 * MAX_TEXT_BYTES:  # stop reading early; the exact check is on the joined text
                break
        info = reader.metadata or {}
        title = _clean_title(info.get("/Title"))
        try:
            date = _iso_date(info.creation_date) if info else None
        except (ValueError, TypeError):
            date = None
        declared = reader.trailer["/Root"].get("/Lang")
    except FormatError:
        raise
    except Exception as err:  # noqa: BLE001 (see above: any failure of the parser is a bad file)
        if type(err).__name__ == "DependencyError":
            raise FormatError(f"{name} is encrypted in a way this installation cannot open ({err})") from None
        raise FormatError(f"{name} is not a readable PDF ({type(err).__name__}: {str(err)[:200]})") from None
    body = "\n".join(_paragraphs(t) for t in texts)
    if _letters(body) < MIN_LETTERS:
        raise FormatError(
            f"{name} has no text layer ({pages} page{'s' if pages != 1 else ''}, no extractable "
            "text): this PDF needs OCR, which qa does not do; upload the article as text instead"
        )
    if title and body.split("\n", 1)[0].strip() != title:
        body = f"{title}\n{body}"
    return Extracted(body, name, "pdf", title, date, str(declared) if declared else None)


def _paragraphs(page: str) -> str:
    """A PDF page's lines joined back into paragraphs, one per line. A line ends its paragraph
    when a blank line follows, or when it is clearly shorter than the page's full lines (a last
    line, a headline) and the next line does not continue it in lower case; a word hyphenated at
    a line end is joined; lone page numbers are dropped."""
    lines = [" ".join(line.split()) for line in page.splitlines()]
    lines = [line if not _PAGE_NUMBER.match(line) else "" for line in lines]
    full = sorted((len(line) for line in lines if line), reverse=True)
    width = full[len(full) // 5] if full else 0  # a typical full line (80th percentile)
    paragraphs: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and current[-2:-1].isalpha() and line[:1].islower():
            current = current[:-1] + line  # "Biblio-" + "thek"
        elif _cjk(current[-1:]) and _cjk(line[:1]):
            current += line
        else:
            current += " " + line
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if len(line) < 0.8 * width and not line.endswith(("-", ",")) and not following[:1].islower():
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)


def _cjk(ch: str) -> bool:
    return bool(ch) and (0x3000 <= ord(ch) <= 0x9FFF or 0xF900 <= ord(ch) <= 0xFFEF)


# -- Word --------------------------------------------------------------------------------------
def _docx(name: str, data: bytes) -> Extracted:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise FormatError(
                    f"{name} holds {len(members):,} files in its ZIP container; a Word document has "
                    f"a few dozen and the limit is {MAX_ZIP_MEMBERS:,} (refused as a possible zip bomb)"
                )
            unpacked = sum(m.file_size for m in members)  # zipfile never inflates a member beyond its stated size
            if unpacked > MAX_UNZIPPED_BYTES:
                raise FormatError(
                    f"{name} unpacks to {unpacked:,} bytes; the limit is {MAX_UNZIPPED_BYTES:,} "
                    f"({MAX_UNZIPPED_BYTES // 1_000_000} MB; refused as a possible zip bomb)"
                )
    except zipfile.BadZipFile as err:
        raise FormatError(f"{name} is not a readable Word document (its ZIP container is damaged: {err})") from None
    # python-docx parses the XML parts with entity resolution off (no entity-expansion bombs)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = list(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
                    if cells:
                        blocks.append(" | ".join(cells))
            elif block.text.strip():
                blocks.append(block.text)
        props = document.core_properties
        title, created, declared = _clean_title(props.title), props.created, props.language
    except FormatError:
        raise
    except Exception as err:  # noqa: BLE001 (python-docx and lxml on untrusted bytes: one clear message)
        raise FormatError(f"{name} is not a readable Word document ({type(err).__name__}: {str(err)[:200]})") from None
    body = "\n".join(" ".join(b.split()) for b in blocks)
    if _letters(body) < MIN_LETTERS:
        raise FormatError(f"{name} has no text (its body holds no paragraphs with words)")
    if title and body.split("\n", 1)[0].strip() != title:
        body = f"{title}\n{body}"
    template = created is not None and created.replace(tzinfo=None) == _DOCX_TEMPLATE_DATE
    return Extracted(body, name, "docx", title, None if template else _iso_date(created), declared or None)
