"""Where the index lives: one small protocol, two engines behind it.

- ``faiss`` (default): the embedded index (qa.store.faiss_store over qa.store.faiss_index: FAISS
  + bm25s files under ``Config.index_dir``, one writer process at a time, each change a new
  generation).
- ``postgres``: PostgreSQL + pgvector at ``Config.store.uri`` (qa.store.postgres), shared by any
  number of reader and writer processes; each added article is one transaction.

This module holds what both engines share and depends on neither: the protocols, StoreError,
the manifest rules (format, what is recorded, staleness) and the dense-index policy. Opening,
building and adding articles, for both engines, is qa.store.build.

Rows are chunk positions in the order the chunks were added (FAISS row numbers), so both
engines rank, fuse and break ties the same way. A store raises StoreError with a message
saying what is wrong and what to do, never a driver traceback.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import numpy as np

from qa.config import Config
from qa.models.embedder import Embedder
from qa.text.chunking import CHUNKER_VERSION, EMBED_TEXT_VERSION
from qa.types import Chunk, Document, DocumentInfo

STORES = ("faiss", "postgres")
FORMAT = 2  # the manifest's format; 2: sentence evidence units
HNSW_ABOVE = 50_000  # both engines: exact dense search up to this many chunks, an approximate index above


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

    def check_new(self, doc: Document) -> None:
        """Raises DuplicateError (same text as an indexed article) or IdTakenError (id taken)
        before anything is written (qa.text.corpus.check_new_article); add_document checks again
        as it adds."""

    def add_document(
        self,
        doc: Document,
        chunks: list[Chunk],
        chunk_vectors: np.ndarray,
        sentences: list[Chunk],
        sentence_vectors: np.ndarray,
        file_hash: str | None = None,
    ) -> None:
        """Add one article with its units and vectors, all or nothing; raises DuplicateError
        (same text as an indexed article) or IdTakenError (id taken). `file_hash` (default
        doc.sha256) is what the manifest records for staleness: the file's bytes."""

    def staleness(self, cfg: Config, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        """Why the store does not fit the configuration and corpus (including why it could not
        be read), or None when it does."""

    def rebuild(self, docs: list[Document], file_hashes: dict[str, str], embedder: Embedder, cfg: Config) -> int:
        """Replace the whole content with these articles (the corpus), embedded by `embedder`;
        returns how many texts were embedded. Each engine writes in its own bulk way (FAISS: one
        new generation, reusing the vectors of unchanged texts; PostgreSQL: emptied, then one
        transaction per article)."""


def base_manifest(cfg: Config, fingerprint: str, dim: int) -> dict:
    """What a store records about how its vectors and units were made (checked for staleness)."""
    return {
        "format": FORMAT,
        "embed_model": cfg.embedder.model,
        "embed_fingerprint": fingerprint,
        "dim": int(dim),
        "chunker": CHUNKER_VERSION,
        "embed_text": EMBED_TEXT_VERSION,
        "chunk_max_chars": cfg.store.chunk_max_chars,
        "chunk_overlap_sentences": cfg.store.chunk_overlap_sentences,
        "docs": {},
        "chunks": 0,
        "sentences": 0,
        "embedded": 0,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def manifest_staleness(m: dict, cfg: Config, fingerprint: str, hashes: dict[str, str]) -> str | None:
    """The staleness rule both engines share: model, chunker settings, then corpus hashes."""
    if m.get("embed_fingerprint") != fingerprint or m.get("embed_model") != cfg.embedder.model:
        return "it was built with another embedding model"
    if (
        m.get("chunker") != CHUNKER_VERSION
        or m.get("embed_text") != EMBED_TEXT_VERSION
        or m.get("chunk_max_chars") != cfg.store.chunk_max_chars
        or m.get("chunk_overlap_sentences") != cfg.store.chunk_overlap_sentences
    ):
        return "the chunker or its settings changed"
    if m.get("docs") != hashes:
        changed = sorted(set(m.get("docs", {}).items()) ^ set(hashes.items()))
        return "the corpus changed (" + ", ".join(sorted({k for k, _ in changed}))[:200] + ")"
    return None


def documents_of(store: Store, doc_ids) -> dict[str, Document]:
    """The indexed articles among `doc_ids` (e.g. of some passages), read in one state."""
    with store.reading():
        return {d: doc for d in dict.fromkeys(doc_ids) if (doc := store.document(d)) is not None}
