"""The default store: the embedded FAISS + bm25s index of qa.index behind the Store protocol.

Reads go to the live Index snapshot; an add makes a new snapshot and saves it as a new
generation (atomic: a killed writer leaves the previous generation current). One process
writes at a time; other processes see a change when they reopen the store.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np

from qa.store.faiss_index import Index, IndexError_
from qa.types import Chunk, Document, DocumentInfo


class FaissStore:
    def __init__(self, root: Path, index: Index | None = None):
        self.root = root
        self.index = index
        self._pinned = threading.local()  # the snapshot a thread's reading() holds
        if self.index is None:
            try:
                self.index = Index.load(root)
            except IndexError_:
                self.index = None  # nothing usable yet: reset() starts one

    @property
    def manifest(self) -> dict:
        return self.index.manifest if self.index is not None else {}

    def _now(self) -> Index | None:
        """The snapshot reads go to: the one pinned by this thread's reading(), else the live one."""
        pinned = getattr(self._pinned, "index", None)
        return pinned if pinned is not None else self.index

    def _live(self) -> Index:
        index = self._now()
        if index is None:
            raise IndexError_(f"no usable index in {self.root}; build it with `qa index`")
        return index

    # -- reads ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self):
        """Reads inside go to one immutable Index snapshot, even when an add replaces it meanwhile."""
        if getattr(self._pinned, "index", None) is not None:
            yield
            return
        self._pinned.index = self.index
        try:
            yield
        finally:
            self._pinned.index = None

    def count(self) -> int:
        index = self._now()
        return index.count() if index is not None else 0

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        index = self._now()
        return index.dense_search(vector, k) if index is not None else []

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        index = self._now()
        return index.lexical_search(query, k) if index is not None else []

    def chunks_at(self, rows: list[int]) -> list[Chunk]:
        return self._live().chunks_at(rows)

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        return self._live().vectors_at(rows)

    def unit(self, unit_id: str) -> Chunk | None:
        index = self._now()
        return index.unit(unit_id) if index is not None else None

    def unit_vectors(self, unit_ids: list[str]) -> np.ndarray:
        return self._live().unit_vectors(unit_ids)

    def context(self, unit_id: str) -> Chunk | None:
        index = self._now()
        return index.context(unit_id) if index is not None else None

    def document(self, doc_id: str) -> Document | None:
        index = self._now()
        return index.document(doc_id) if index is not None else None

    def documents(self) -> list[DocumentInfo]:
        index = self._now()
        return index.documents() if index is not None else []

    def sentences_of(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        return self._live().sentences_of(doc_ids)

    def document_ids(self) -> set[str]:
        index = self._now()
        return set(index.docs) if index is not None else set()

    def document_sentences(self, doc_id: str) -> list[Chunk]:
        index = self._live()
        return [index.sentences[i] for i in index.doc_sentences.get(doc_id, [])]

    def check_new(self, doc: Document) -> None:
        if self.index is not None:
            self.index.check_new(doc)

    def staleness(self, cfg, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        if self.index is None:
            return f"no usable index in {self.root}"
        return self.index.staleness(cfg, embedder_fingerprint, hashes)

    # -- writes ---------------------------------------------------------------------------
    def reset(self, manifest: dict) -> None:
        dim = int(manifest["dim"])
        empty = Index([], [], np.zeros((0, dim), np.float32), dict(manifest, docs={}, chunks=0, sentences=0),
                      sentences=[], sentence_vectors=np.zeros((0, dim), np.float32))
        empty.save(self.root)
        self.index = empty

    def add_document(self, doc: Document, chunks: list[Chunk], chunk_vectors: np.ndarray,
                     sentences: list[Chunk], sentence_vectors: np.ndarray, file_hash: str | None = None) -> None:
        index = self.index  # the live snapshot, not one a reading() pinned
        if index is None:
            raise IndexError_(f"no usable index in {self.root}; build it with `qa index`")
        index.check_new(doc)
        new = index.with_units(doc, chunks, chunk_vectors, sentences, sentence_vectors)
        new.manifest["docs"][doc.id] = file_hash or doc.sha256
        new.save(self.root)
        self.index = new
