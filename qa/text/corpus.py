"""Corpus: text files → ``Document``s (language, title, date, article spans without boilerplate).

Boilerplate is found by generic rules, not per-file offsets, so uploaded articles from other
sites get the same treatment: a row of language names (site language menus), lines repeated
verbatim (teasers that repeat the headline), and a trailing site footer (tips, comments,
related-article lists) that starts at the first widget line in the last part of the text.
Offsets always point into the unchanged file text.

The corpus is every article file in the seeds and uploads folders (``read_corpus``); an
article's identity for duplicates is its text key (``text_key``), one rule for a corpus folder,
an index and an upload alike (``check_new_article``).
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from charset_normalizer import from_bytes

from qa.config import Config
from qa.text.lang import detect
from qa.types import Document

SUFFIXES = (".txt", ".md")
MAX_DOC_BYTES = 2_000_000

# Autonyms as they appear in site language menus.
_LANGUAGE_NAMES = (
    "English",
    "Deutsch",
    "Français",
    "Español",
    "español",
    "Italiano",
    "Português",
    "Русский",
    "日本語",
    "한국어",
    "한어",
    "Ελληνικά",
    "Latina",
    "Suomi",
    "Suomalainen",
    "Indonesian",
    "Sanskrit",
    "العربية",
    "中文",
    "简体中文",
    "繁體中文",
    "Nederlands",
    "Polski",
    "Türkçe",
    "Tiếng Việt",
    "ไทย",
    "हिन्दी",
    "Svenska",
    "فارسی",
    "עברית",
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
    """The article is already in the index (same text: see text_key)."""


class IdTakenError(CorpusError):
    """Another article already has this id (a concurrent writer may have just taken it)."""


def detect_language(text: str) -> str:
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


# The article spans of recently made documents, by the sha256 of their text (spans depend on the
# text alone). Every rebuild reads the whole corpus again, and the teaser check (difflib) was
# 1.8 s of a 2.7 s rebuild of the seed corpus (HashEmbedder, this machine); a process that
# rebuilds (a changed corpus, another model, the tests) now finds unchanged articles' spans here.
_SPANS: dict[str, tuple[tuple[int, int], ...]] = {}
_SPANS_KEPT = 256  # articles; the oldest entry goes first
_SPANS_LOCK = threading.Lock()


def _spans_of(text: str, sha256: str) -> tuple[tuple[int, int], ...]:
    with _SPANS_LOCK:
        spans = _SPANS.get(sha256)
    if spans is None:
        spans = tuple(article_spans(text))
        with _SPANS_LOCK:
            while len(_SPANS) >= _SPANS_KEPT:
                _SPANS.pop(next(iter(_SPANS)))
            _SPANS[sha256] = spans
    return spans


def make_document(
    doc_id: str,
    text: str,
    path: str = "",
    *,
    title: str | None = None,
    date: str | None = None,
    lang: str | None = None,
    source: str = "",
    source_type: str = "",
) -> Document:
    """A Document of `text`; title, date and language from the file's metadata when given
    (qa.text.formats), else found in the text."""
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    spans = _spans_of(text, sha256)
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
        spans=spans,
        sha256=sha256,
        source=source,
        source_type=source_type,
    )


def text_key(text: str) -> str:
    """Identity of an article's text regardless of encoding, line endings and spacing, so a
    re-encoded or re-saved copy of an indexed article is recognised as a duplicate. Equal texts
    (equal Document.sha256) have equal keys, so the key alone decides."""
    return hashlib.sha256(" ".join(text.replace("\ufeff", "").split()).encode("utf-8")).hexdigest()


def check_new_article(doc: Document, same_text_as: str | None, id_taken: bool) -> None:
    """The rule for adding an article to an index, whichever engine holds it: refused as a
    duplicate when an indexed article has the same text key (`same_text_as`: its id), else when
    its id is taken. The store looks both up; the order and the messages are decided here."""
    if same_text_as is not None:
        raise DuplicateError(f"this article is already indexed as {same_text_as}")
    if id_taken:
        raise IdTakenError(f"an article named {doc.id} is already indexed")


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
    tmp.write_text(
        json.dumps({k: metadata[k] for k in _SOURCE_KEYS if metadata.get(k)}, ensure_ascii=False), encoding="utf-8"
    )
    tmp.replace(target)
    return target


def read_source(path: Path) -> dict:
    """make_document's keyword arguments from the metadata file of the article file `path`
    ({} when there is none or it is unreadable)."""
    try:
        data = json.loads(source_file(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if k in _SOURCE_KEYS and isinstance(v, str) and v}
        if isinstance(data, dict)
        else {}
    )


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def corpus_dirs(cfg: Config) -> list[Path]:
    """The folders the corpus is read from: the seeds folder (named even when missing, so the
    "no articles" message names it) and the uploads folder when there is one."""
    return [cfg.paths.seeds_dir, *([cfg.paths.uploads_dir] if cfg.paths.uploads_dir.is_dir() else [])]


def corpus_hashes(folders: Iterable[Path]) -> dict[str, str]:
    """doc id → sha256 of the file bytes, for every article file in `folders` (what an index's
    manifest records, so its staleness is decided without decoding a file)."""
    return {
        path.stem: hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        if folder.is_dir()
        for path in corpus_files(folder)
    }


def read_corpus(folders: Iterable[Path]) -> tuple[list[Document], dict[str, str]]:
    """The articles of every .txt/.md file in `folders` (gold and other data files are not
    articles) and the sha256 of each file's bytes (what the manifest records, so a file stored
    as GB18030, with a BOM or not NFC-normalised does not look changed on every load). Raises
    CorpusError naming the file when one is unusable, repeats another's name or its text (the
    text key of check_new_article), or when there is no article at all."""
    folders = list(folders)
    docs, hashes, seen, texts = [], {}, {}, {}
    for folder in folders:
        for path in corpus_files(folder) if folder.is_dir() else []:
            if path.stem in seen:
                raise CorpusError(f"two articles are named {path.stem} ({seen[path.stem]} and {path})")
            seen[path.stem] = path
            data = path.read_bytes()
            doc = make_document(path.stem, decode(data, path.name), str(path), **read_source(path))
            key = text_key(doc.text)
            if key in texts:
                raise CorpusError(f"{path} repeats the article {texts[key]}; remove one of the two files")
            texts[key] = path
            docs.append(doc)
            hashes[doc.id] = hashlib.sha256(data).hexdigest()
    if not docs:
        raise CorpusError(f"no .txt or .md articles in {', '.join(map(str, folders))}")
    return docs, hashes
