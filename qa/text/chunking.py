"""Chunking: Document → sentence-aware Chunks with exact character offsets.

Sentences come from pysbd (rule-based, supports de/en/zh/ar among 22 languages; keeps "4.4%",
"Abacus.AI", "Dr." intact). A chunk is a run of whole sentences up to a size budget measured in
approximate tokens (a Han character costs about as much as 2.5 Latin ones), preferring to end at
a paragraph break, with one sentence of overlap inside a paragraph. Every chunk's text is an exact
slice of the original file, so citations can always be shown and highlighted in place.
"""

from __future__ import annotations

import functools
import re

import pysbd

from qa.types import Chunk, Document

CHUNKER_VERSION = "sent-v3"
# How a chunk is turned into the text that is embedded (see embedding_text). Vectors are reused
# across rebuilds only when this matches, so a change here re-embeds everything.
EMBED_TEXT_VERSION = "prev-sentence-v1"
_PYSBD_LANGS = {"en", "de", "zh", "ar", "fr", "es", "it", "nl", "ru", "ja", "pl", "fa", "el", "hi"}
_CLAUSE_END = re.compile(r"[،,;:]\s*$")  # pysbd splits after the Arabic comma; rejoin those
# Closing quotes/brackets that pysbd leaves at the start of the next sentence ("…ist.“ Andere",
# "好。”然后"); they belong to the sentence they close. German closes „…“ with “.
_CLOSERS = "”’」』）)"
_WORD = re.compile(r"\w")


@functools.lru_cache(maxsize=16)
def _segmenter(lang: str):
    return pysbd.Segmenter(language=lang if lang in _PYSBD_LANGS else "en", clean=False, char_span=True)


def weight(text: str) -> float:
    """Approximate size in Latin-character units (CJK and Arabic tokenize denser)."""
    w = 0.0
    for ch in text:
        o = ord(ch)
        if 0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF:
            w += 2.5
        elif 0x0600 <= o <= 0x06FF:
            w += 1.3
        else:
            w += 1.0
    return w


def split_sentences(text: str, start: int, end: int, lang: str) -> list[tuple[int, int]]:
    """Absolute spans of the sentences in text[start:end], whitespace trimmed."""
    segment = text[start:end]
    spans: list[tuple[int, int]] = []
    for sent in _segmenter(lang).segment(segment):
        s, e = start + sent.start, start + sent.end
        raw = text[s:e]
        s += len(raw) - len(raw.lstrip())
        e -= len(raw) - len(raw.rstrip())
        if spans and s == spans[-1][1]:  # glued to the previous sentence: move its closers there
            k = s
            while k < e and text[k] in _CLOSERS + ("“‘" if lang == "de" else ""):
                k += 1
            if k > s:
                spans[-1] = (spans[-1][0], k)
                s = k + len(text[k:e]) - len(text[k:e].lstrip())
        if e <= s:
            continue
        if spans and (_CLAUSE_END.search(text[spans[-1][0] : spans[-1][1]]) or not _WORD.search(text[s:e])):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return spans


def chunk_document(doc: Document, max_chars: int = 360, overlap: int = 1) -> list[Chunk]:
    sentences: list[tuple[int, int, int]] = []  # (start, end, paragraph number)
    for para, (s, e) in enumerate(doc.spans):
        sentences += [(a, b, para) for a, b in split_sentences(doc.text, s, e, doc.lang)]

    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    size = 0.0
    for sent in sentences:
        w = weight(doc.text[sent[0] : sent[1]])
        new_para = bool(current) and sent[2] != current[-1][2]
        # removed boilerplate between the two sentences: a chunk must not span (and so contain) it
        gap = bool(current) and bool(doc.text[current[-1][1] : sent[0]].strip())
        if current and (gap or size + w > max_chars or (new_para and size >= max_chars / 2)):
            groups.append(current)
            carry = current[-overlap:] if overlap and not new_para and len(current) > overlap else []
            if sum(weight(doc.text[a:b]) for a, b, _ in carry) + w > max_chars:
                carry = []  # the overlap would push the next chunk over its budget
            current, size = list(carry), sum(weight(doc.text[a:b]) for a, b, _ in carry)
        current.append(sent)
        size += w
    if current:
        groups.append(current)

    chunks = []
    for n, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        chunks.append(
            Chunk(
                id=f"{doc.id}#{n}",
                doc_id=doc.id,
                lang=doc.lang,
                start=start,
                end=end,
                text=doc.text[start:end],
                sentences=tuple((a, b) for a, b, _ in group),
            )
        )
    return chunks


def embedding_text(doc: Document, chunk: Chunk, max_context: int = 200) -> str:
    """The text a chunk is embedded as: the chunk, preceded by the sentence before it when the
    chunk starts inside a paragraph. A chunk that continues a thought ("Er sagte: …") is then
    found by the question about whoever the previous sentence names; the model still sees only
    the chunk itself."""
    para_start = max((s for s, _ in doc.spans if s <= chunk.start), default=chunk.start)
    if not doc.text[para_start : chunk.start].strip():
        return chunk.text
    before = split_sentences(doc.text, para_start, chunk.start, doc.lang)
    context = doc.text[before[-1][0] : before[-1][1]] if before else doc.text[para_start : chunk.start]
    return f"{context.strip()[-max_context:]} {chunk.text}"


def sentence_units(doc: Document) -> list[Chunk]:
    """Every sentence of the article's kept text as a one-sentence Chunk ("<doc>#s<n>"): the
    evidence units an answer is written from and cites (qa.evidence)."""
    spans = [span for s, e in doc.spans for span in split_sentences(doc.text, s, e, doc.lang)]
    return [
        Chunk(
            id=f"{doc.id}#s{n}", doc_id=doc.id, lang=doc.lang, start=a, end=b, text=doc.text[a:b], sentences=((a, b),)
        )
        for n, (a, b) in enumerate(spans)
    ]
