"""Corpus: text files → ``Document``s (language, title, date, article spans without boilerplate).

Boilerplate is found by generic rules, not per-file offsets, so uploaded articles from other
sites get the same treatment: a row of language names (site language menus), lines repeated
verbatim (teasers that repeat the headline), and a trailing site footer (tips, comments,
related-article lists) that starts at the first widget line in the last part of the text.
Offsets always point into the unchanged file text.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import re
import unicodedata
from pathlib import Path

from qa.types import Document

SUFFIXES = (".txt", ".md")
MAX_DOC_BYTES = 2_000_000

# Autonyms as they appear in site language menus.
_LANGUAGE_NAMES = (
    "English", "Deutsch", "Français", "Español", "español", "Italiano", "Português", "Русский",
    "日本語", "한국어", "한어", "Ελληνικά", "Latina", "Suomi", "Suomalainen", "Indonesian",
    "Sanskrit", "العربية", "中文", "简体中文", "繁體中文", "Nederlands", "Polski", "Türkçe",
    "Tiếng Việt", "ไทย", "हिन्दी", "Svenska", "فارسی", "עברית",
)
# Lines that belong to page furniture rather than the article (tips, comment boxes, account
# menus, template placeholders). Matched only in the final third of a document.
_FOOTER = re.compile(
    r"\{\{.*?\}\}|打赏|条回复|暂无讨论|个人中心|今日签到|相关推荐|"
    r"Kommentar(e)? (schreiben|verfassen)|Leave a (comment|reply)|Share this|Related articles|"
    r"اترك تعليق|مقالات ذات صلة",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(20\d\d|19\d\d)-(\d{1,2})-(\d{1,2})\b")


class CorpusError(ValueError):
    """A document cannot be used; the message says why."""


class DuplicateError(CorpusError):
    """The article is already in the index (same bytes or same text)."""


def detect_language(text: str) -> str:
    from qa.text.lang import detect

    return detect(text)


def _lines(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((pos, pos + len(line.rstrip("\r\n"))))
        pos += len(line)
    return spans


def _is_language_menu(line: str) -> bool:
    return sum(1 for name in _LANGUAGE_NAMES if name in line) >= 4


def article_spans(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that are article content (non-empty lines minus boilerplate)."""
    lines = [(s, e) for s, e in _lines(text) if text[s:e].strip()]
    if not lines:
        return []
    # Footer: first widget-looking line in the last third; everything from it on is dropped.
    cut = len(lines)
    for i, (s, e) in enumerate(lines):
        if i >= len(lines) * 2 // 3 and _FOOTER.search(text[s:e]):
            cut = i
            break
    kept, seen = [], set()
    for s, e in lines[:cut]:
        line = text[s:e].strip()
        if _is_language_menu(line) or line in seen:
            continue
        seen.add(line)
        kept.append((s, e))
    # Longest first, so a teaser is judged against the paragraphs it copies, not the reverse.
    for s, e in sorted(kept[:8], key=lambda se: se[0] - se[1]):
        others = [text[a:b] for a, b in kept if (a, b) != (s, e)]
        if _is_teaser(text[s:e].strip(), others):
            kept.remove((s, e))
    return kept


def _is_teaser(line: str, others: list[str]) -> bool:
    """A line that mostly repeats other lines verbatim (a lead/teaser printed before the article
    proper) adds nothing but duplicate passages."""
    if len(line) < 40:
        return False
    matcher = difflib.SequenceMatcher(None, line, "\n".join(others), autojunk=False)
    shared = sum(m.size for m in matcher.get_matching_blocks() if m.size >= 12)
    return shared >= 0.6 * len(line)


def _title(text: str, spans: list[tuple[int, int]]) -> str:
    for s, e in spans[:4]:
        line = text[s:e].strip()
        if 15 <= len(line) <= 200 and not _ISO_DATE.fullmatch(line):
            return line
    first = text[spans[0][0] : spans[0][1]].strip() if spans else ""
    if len(first) <= 80:
        return first
    cut = first[:80].rsplit(" ", 1)[0] if " " in first[:80] else first[:80]  # whole words
    return cut.rstrip(" ,،;:") + "…"


def _date(text: str, spans: list[tuple[int, int]]) -> str | None:
    for s, e in spans:
        m = _ISO_DATE.search(text[s:e])
        if m:
            y, mo, d = (int(g) for g in m.groups())
            if 1 <= mo <= 12 and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def decode(data: bytes, name: str = "document") -> str:
    """Bytes → text. UTF-8 (with or without BOM) or UTF-16 with BOM first; otherwise a legacy
    encoding when one is detected with confidence (GB18030, Windows-1256, …); otherwise refuse."""
    if not data.strip():
        raise CorpusError(f"{name} is empty")
    if len(data) > MAX_DOC_BYTES:
        raise CorpusError(f"{name} is {len(data):,} bytes; the limit is {MAX_DOC_BYTES:,}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows "Unicode" text
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise CorpusError(f"{name} starts like UTF-16 text but is not valid UTF-16") from None
        return _checked(text, name)
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{name} looks binary (it contains NUL bytes); upload a .txt or .md file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None or best.encoding is None:
            raise CorpusError(f"{name} is not UTF-8 and its encoding could not be recognised") from None
        text = str(best)
    return _checked(text, name)


def _checked(text: str, name: str) -> str:
    """Decoded text, NFC-normalised, refused when it is mostly control characters or too short."""
    text = unicodedata.normalize("NFC", text) if not unicodedata.is_normalized("NFC", text) else text
    bad = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\r\t")
    if bad > max(8, len(text) // 100):
        raise CorpusError(f"{name} looks binary ({bad} control characters); upload a text file")
    if len(text.strip()) < 20:
        raise CorpusError(f"{name} has too little text to index ({len(text.strip())} characters)")
    return text


def make_document(doc_id: str, text: str, path: str = "", *, title: str | None = None, date: str | None = None,
                  lang: str | None = None, source: str = "", source_type: str = "") -> Document:
    """A Document of `text`; title, date and language from the file's metadata when given
    (qa.formats), else found in the text."""
    spans = article_spans(text)
    if not spans:
        raise CorpusError(f"{doc_id} has no article text")
    body = "\n".join(text[s:e] for s, e in spans)
    return Document(
        id=doc_id,
        path=path,
        text=text,
        lang=lang or detect_language(body),
        title=title or _title(text, spans),
        date=date or _date(text, spans),
        spans=tuple(spans),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=source,
        source_type=source_type,
    )


# An article added from an HTML, PDF or Word file is stored as its extracted text (<id>.txt);
# this file beside it (<id>.source.json) keeps the original file's name and type and the title,
# date and language its metadata gave, so a rebuild of the index makes the same Document.
SOURCE_SUFFIX = ".source.json"
_SOURCE_KEYS = ("title", "date", "lang", "source", "source_type")


def source_file(path: Path) -> Path:
    return path.with_name(path.stem + SOURCE_SUFFIX)


def write_source(path: Path, metadata: dict) -> Path:
    """Write the metadata file of the article file `path` (atomically); returns its path."""
    target = source_file(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps({k: metadata[k] for k in _SOURCE_KEYS if metadata.get(k)}, ensure_ascii=False),
                   encoding="utf-8")
    tmp.replace(target)
    return target


def read_source(path: Path) -> dict:
    """make_document's keyword arguments from the metadata file of the article file `path`
    ({} when there is none or it is unreadable)."""
    try:
        data = json.loads(source_file(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in _SOURCE_KEYS and isinstance(v, str) and v} \
        if isinstance(data, dict) else {}


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def load_corpus(folder: Path) -> list[Document]:
    """Every .txt/.md file in `folder` (gold and other data files are not articles)."""
    docs = []
    for path in corpus_files(folder):
        text = decode(path.read_bytes(), path.name)
        docs.append(make_document(path.stem, text, str(path)))
    if not docs:
        raise CorpusError(f"no .txt or .md articles in {folder}")
    return docs
