"""The default store: the embedded FAISS + bm25s index of qa.index behind the Store protocol.

Reads go to the live Index snapshot; an add makes a new snapshot and saves it as a new
generation (atomic: a killed writer leaves the previous generation current). One process
writes at a time; other processes see a change when they reopen the store.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from .index import Index, IndexError_
from .types import Chunk, Document


class FaissStore:
    def __init__(self, root: Path, index: Index | None = None):
        self.root = root
        self.index = index
        if self.index is None:
            try:
                self.index = Index.load(root)
            except IndexError_:
                self.index = None  # nothing usable yet: reset() starts one

    @property
    def manifest(self) -> dict:
        return self.index.manifest if self.index is not None else {}

    def _live(self) -> Index:
        if self.index is None:
            raise IndexError_(f"no usable index in {self.root}; build it with `qa index`")
        return self.index

    # -- reads ----------------------------------------------------------------------------
    def reading(self):
        return contextlib.nullcontext()  # reads go to one immutable Index snapshot

    def count(self) -> int:
        return self.index.count() if self.index is not None else 0

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self.index.dense_search(vector, k) if self.index is not None else []

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.index.lexical_search(query, k) if self.index is not None else []

    def chunks_at(self, rows: list[int]) -> list[Chunk]:
        return self._live().chunks_at(rows)

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        return self._live().vectors_at(rows)

    def unit(self, unit_id: str) -> Chunk | None:
        return self.index.unit(unit_id) if self.index is not None else None

    def document_ids(self) -> set[str]:
        return set(self.index.docs) if self.index is not None else set()

    def document_sentences(self, doc_id: str) -> list[Chunk]:
        index = self._live()
        return [index.sentences[i] for i in index.doc_sentences.get(doc_id, [])]

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
        index = self._live()
        index.check_new(doc)
        new = index.with_units(doc, chunks, chunk_vectors, sentences, sentence_vectors)
        new.manifest["docs"][doc.id] = file_hash or doc.sha256
        new.save(self.root)
        self.index = new
