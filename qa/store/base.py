"""Where the index lives: one small protocol, two engines behind it.

- ``faiss`` (default): today's embedded index (qa.index: FAISS + bm25s files under
  ``Config.index_dir``, one writer process at a time, each change a new generation).
- ``postgres``: PostgreSQL + pgvector at ``Config.store_uri`` (qa.store_postgres), shared by any
  number of reader and writer processes; each added article is one transaction.

Rows are chunk positions in the order the chunks were added (FAISS row numbers), so both
engines rank, fuse and break ties the same way. A store raises StoreError with a message
saying what is wrong and what to do, never a driver traceback.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import numpy as np

from qa.text.chunking import CHUNKER_VERSION, EMBED_TEXT_VERSION
from qa.config import Config
from qa.types import Chunk, Document, DocumentInfo

STORES = ("faiss", "postgres")


class StoreError(RuntimeError):
    pass


@runtime_checkable
class Store(Protocol):
    def count(self) -> int:
        """How many chunks are indexed."""

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(row, cosine) of the k chunks closest to a unit vector, best first."""

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(row, BM25 score > 0) of the k best chunks for a query, best first."""

    def chunks_at(self, rows: list[int]) -> list[Chunk]: ...

    def vectors_at(self, rows: list[int]) -> np.ndarray: ...

    def unit(self, unit_id: str) -> Chunk | None:
        """The chunk or sentence with this id, or None."""

    def unit_vectors(self, unit_ids: list[str]) -> np.ndarray:
        """The vectors of these chunks or sentences, in order; KeyError naming a missing id."""

    def context(self, unit_id: str) -> Chunk | None:
        """The chunk that holds a cited unit (a sentence is shown inside its passage; a chunk is
        its own), the unit itself when no chunk holds it, or None when there is no such unit."""

    def document(self, doc_id: str) -> Document | None: ...

    def documents(self) -> list[DocumentInfo]:
        """Every indexed article (title, date, passage count; no text), by id."""

    def sentences_of(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        """The sentence units of these articles and their vectors: article by article in the
        given order, each article's sentences in text order (the evidence candidates)."""

    def reading(self) -> AbstractContextManager:
        """A context in which a series of reads sees one state of the store."""


@runtime_checkable
class WritableStore(Store, Protocol):
    manifest: dict

    def document_ids(self) -> set[str]: ...

    def document_sentences(self, doc_id: str) -> list[Chunk]: ...

    def check_new(self, doc: Document) -> None:
        """Raises DuplicateError (same bytes or text as an indexed article) or CorpusError (id
        taken) before anything is written; add_document checks again as it adds."""

    def add_document(self, doc: Document, chunks: list[Chunk], chunk_vectors: np.ndarray,
                     sentences: list[Chunk], sentence_vectors: np.ndarray, file_hash: str | None = None) -> None:
        """Add one article with its units and vectors, all or nothing; raises DuplicateError
        (same bytes or same text as an indexed article) or CorpusError (id taken). `file_hash`
        (default doc.sha256) is what the manifest records for staleness: the file's bytes."""

    def staleness(self, cfg: Config, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        """Why the store does not fit the configuration and corpus, or None when it does."""

    def reset(self, manifest: dict) -> None:
        """Empty the store and describe what it will hold (model, chunker, dimension)."""


def base_manifest(cfg: Config, fingerprint: str, dim: int) -> dict:
    """What a store records about how its vectors and units were made (checked for staleness)."""
    from qa.store.faiss_index import FORMAT

    return {
        "format": FORMAT,
        "embed_model": cfg.embed_model,
        "embed_fingerprint": fingerprint,
        "dim": int(dim),
        "chunker": CHUNKER_VERSION,
        "embed_text": EMBED_TEXT_VERSION,
        "chunk_max_chars": cfg.chunk_max_chars,
        "chunk_overlap_sentences": cfg.chunk_overlap_sentences,
        "docs": {},
        "chunks": 0,
        "sentences": 0,
        "embedded": 0,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def manifest_staleness(m: dict, cfg: Config, fingerprint: str, hashes: dict[str, str]) -> str | None:
    """The staleness rule both engines share: model, chunker settings, then corpus hashes."""
    if m.get("embed_fingerprint") != fingerprint or m.get("embed_model") != cfg.embed_model:
        return "it was built with another embedding model"
    if m.get("chunker") != CHUNKER_VERSION or m.get("embed_text") != EMBED_TEXT_VERSION \
            or m.get("chunk_max_chars") != cfg.chunk_max_chars \
            or m.get("chunk_overlap_sentences") != cfg.chunk_overlap_sentences:
        return "the chunker or its settings changed"
    if m.get("docs") != hashes:
        changed = sorted(set(m.get("docs", {}).items()) ^ set(hashes.items()))
        return "the corpus changed (" + ", ".join(sorted({k for k, _ in changed}))[:200] + ")"
    return None


def open_store(cfg: Config) -> WritableStore:
    """The store `cfg` names (QA_STORE), opened; raises StoreError saying what to fix."""
    if cfg.store == "faiss":
        from qa.store.faiss_store import FaissStore

        return FaissStore(cfg.index_dir)
    if cfg.store == "postgres":
        if not cfg.store_uri:
            raise StoreError("QA_STORE=postgres needs QA_STORE_URI, e.g. "
                             "postgresql://user:password@host:5432/qa (a database with the pgvector extension)")
        from qa.store.postgres import PostgresStore

        return PostgresStore(cfg.store_uri)
    raise StoreError(f"unknown store {cfg.store!r} (QA_STORE); choose one of: {', '.join(STORES)}")


def documents_of(store: Store, doc_ids) -> dict[str, Document]:
    """The indexed articles among `doc_ids` (e.g. of some passages), read in one state."""
    with store.reading():
        return {d: doc for d in dict.fromkeys(doc_ids) if (doc := store.document(d)) is not None}


def embed_article(doc: Document, embedder, cfg: Config) -> tuple[list[Chunk], np.ndarray, list[Chunk], np.ndarray]:
    """One article's chunks and sentence units with their vectors (what add_document takes);
    a one-sentence chunk and its sentence unit embed the same text: embedded once."""
    from qa.text.chunking import chunk_document, sentence_units
    from qa.store.faiss_index import _embed_cached

    chunks = chunk_document(doc, cfg.chunk_max_chars, cfg.chunk_overlap_sentences)
    sentences = sentence_units(doc)
    cache: dict = {}
    vectors, _ = _embed_cached(chunks, {doc.id: doc}, embedder, cache)
    sentence_vectors, _ = _embed_cached(sentences, {doc.id: doc}, embedder, cache)
    return chunks, vectors, sentences, sentence_vectors


def add_article(store: WritableStore, doc: Document, embedder, cfg: Config, file_hash: str | None = None) -> None:
    """Chunk, embed and add one article (all or nothing)."""
    store.add_document(doc, *embed_article(doc, embedder, cfg), file_hash)


def load_or_build_store(cfg: Config, embedder, rebuild: bool = False, log=None) -> WritableStore:
    """The store `cfg` names, built from the corpus when empty or stale (the FAISS store through
    qa.index.load_or_build, unchanged)."""
    import sys

    from qa.store.faiss_index import corpus_hashes, load_or_build, read_corpus

    if cfg.store == "faiss":
        from qa.store.faiss_store import FaissStore

        return FaissStore(cfg.index_dir, load_or_build(cfg, embedder, rebuild=rebuild, log=log))
    say = log or (lambda msg: print(f"[qa index] {msg}", file=sys.stderr, flush=True))
    store = open_store(cfg)
    reason = "a rebuild was requested" if rebuild else store.staleness(cfg, embedder.fingerprint, corpus_hashes(cfg))
    if reason is None:
        return store
    say(f"building the index: {reason}")
    docs, hashes = read_corpus(cfg)
    store.reset(base_manifest(cfg, embedder.fingerprint, embedder.dim))
    for doc in docs:
        add_article(store, doc, embedder, cfg, hashes[doc.id])
    return store
