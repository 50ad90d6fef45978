"""Embedding the units an index stores: chunks (what retrieval ranks) and sentence units (the
evidence the generator reads), keyed by model fingerprint + embedded text so that a text is
embedded once: a one-sentence chunk and its sentence unit share a vector, and a rebuild reuses
the vectors of every unchanged text of the previous generation (qa.store.faiss_index).
"""

from __future__ import annotations

import hashlib

import numpy as np

from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.base import WritableStore
from qa.text.chunking import chunk_document, embedding_text, sentence_units
from qa.types import Chunk, Document


def unit_key(fingerprint: str, text: str) -> str:
    """The key of an embedded text: the same text under the same model has the same vector."""
    return hashlib.sha256(f"{fingerprint}\n{text}".encode()).hexdigest()


def embed_units(
    units: list[Chunk], docs: dict[str, Document], embedder: Embedder, cache: dict[str, np.ndarray]
) -> tuple[np.ndarray, int]:
    """Vectors of `units` (chunks or sentences), embedding only texts not in `cache` (which
    gains them) in one call; returns the vectors and how many were embedded."""
    texts = [embedding_text(docs[u.doc_id], u) for u in units]
    keys = [unit_key(embedder.fingerprint, t) for t in texts]
    todo = sorted({k: i for i, k in enumerate(keys) if k not in cache}.values())
    if todo:
        for i, vec in zip(todo, embedder.embed_documents([texts[i] for i in todo])):
            cache[keys[i]] = vec
    if not units:
        return np.zeros((0, embedder.dim), np.float32), 0
    return np.stack([cache[k] for k in keys]).astype(np.float32), len(todo)


def embed_article(
    doc: Document, embedder: Embedder, cfg: Config, cache: dict[str, np.ndarray] | None = None
) -> tuple[list[Chunk], np.ndarray, list[Chunk], np.ndarray]:
    """One article's chunks and sentence units with their vectors (what add_document takes); a
    one-sentence chunk and its sentence unit embed the same text: embedded once. `cache` (empty
    by default) gains the vectors by unit_key: its growth is how many texts were embedded."""
    chunks = chunk_document(doc, cfg.store.chunk_max_chars, cfg.store.chunk_overlap_sentences)
    sentences = sentence_units(doc)
    cache = {} if cache is None else cache
    vectors, _ = embed_units(chunks, {doc.id: doc}, embedder, cache)
    sentence_vectors, _ = embed_units(sentences, {doc.id: doc}, embedder, cache)
    return chunks, vectors, sentences, sentence_vectors


def add_article(
    store: WritableStore, doc: Document, embedder: Embedder, cfg: Config, file_hash: str | None = None
) -> None:
    """Chunk, embed and add one made article (all or nothing): a PostgreSQL build adds the corpus
    this way. An upload (a name and bytes: its id, duplicate check and file) goes through
    qa.store.build.ArticleWriter."""
    store.add_document(doc, *embed_article(doc, embedder, cfg), file_hash)
