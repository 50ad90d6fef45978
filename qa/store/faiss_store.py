"""The default store: the embedded FAISS + bm25s index (qa.store.faiss_index) behind the Store protocol.

Reads go to one immutable Index snapshot: the live one, or the one a thread's reading() pinned.
An add makes a new snapshot and saves it as a new generation (atomic: a killed writer leaves
the previous generation current); a rebuild makes a whole new one. One process writes at a
time; other processes see a change when they reopen the store.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np

from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.faiss_index import Index, IndexError_
from qa.text.corpus import check_new_article, text_key
from qa.types import Chunk, Document, DocumentInfo


class FaissStore:
    def __init__(self, root: Path | None, index: Index | None = None):
        """The store in `root`, its live generation loaded unless `index` is given; when none
        can be loaded, the store is empty and staleness() says why (rebuild() makes one)."""
        self.root = root
        self.index = index
        self.load_error: str | None = None  # why the live generation could not be loaded
        self._pinned = threading.local()  # the snapshot a thread's reading() holds
        if self.index is None and root is not None:
            try:
                self.index = Index.load(root)
            except IndexError_ as err:
                self.load_error = str(err)

    @classmethod
    def over(cls, index: Index) -> FaissStore:
        """A read-only store over an in-memory snapshot (the bench's synthetic corpora)."""
        return cls(None, index)

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

    # -- reads (rows are chunk positions, in the order added) ------------------------------
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
        return len(index.chunks) if index is not None else 0

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        index = self._now()
        if index is None or not index.chunks or k <= 0:
            return []
        scores, ids = index.dense.search(vector[None, :].astype(np.float32), min(k, len(index.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        index = self._now()
        return index.lexical.search(query, k) if index is not None else []

    def chunks_at(self, rows: list[int]) -> list[Chunk]:
        index = self._live()
        return [index.chunks[i] for i in rows]

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        return self._live().vectors[list(rows)]

    def unit(self, unit_id: str) -> Chunk | None:
        """The chunk or sentence with this id (citations name either), or None."""
        index = self._now()
        return _unit(index, unit_id) if index is not None else None

    def unit_vectors(self, unit_ids: list[str]) -> np.ndarray:
        index = self._live()
        if not unit_ids:
            return np.zeros((0, index.vectors.shape[1]), np.float32)
        return np.stack(
            [
                index.vectors[index.by_id[i]] if i in index.by_id else index.sentence_vectors[index.sentence_by_id[i]]
                for i in unit_ids
            ]
        )

    def context(self, unit_id: str) -> Chunk | None:
        """The chunk that holds a cited unit (a sentence is shown inside its passage), or None."""
        index = self._now()
        unit = _unit(index, unit_id) if index is not None else None
        if unit is None or unit_id in index.by_id:
            return unit
        return next(
            (
                index.chunks[i]
                for i in index.doc_chunks.get(unit.doc_id, [])
                if index.chunks[i].start <= unit.start and unit.end <= index.chunks[i].end
            ),
            unit,
        )

    def document(self, doc_id: str) -> Document | None:
        index = self._now()
        return index.docs.get(doc_id) if index is not None else None

    def documents(self) -> list[DocumentInfo]:
        index = self._now()
        if index is None:
            return []
        return [
            DocumentInfo(d.id, d.title, d.date, d.lang, len(index.doc_chunks.get(d.id, [])))
            for d in sorted(index.docs.values(), key=lambda d: d.id)
        ]

    def sentences_of(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        index = self._live()
        rows = [i for doc_id in dict.fromkeys(doc_ids) for i in index.doc_sentences.get(doc_id, [])]
        return [index.sentences[i] for i in rows], index.sentence_vectors[rows]

    def document_ids(self) -> set[str]:
        index = self._now()
        return set(index.docs) if index is not None else set()

    def check_new(self, doc: Document) -> None:
        if self.index is not None:
            _check_new(self.index, doc)

    def staleness(self, cfg: Config, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        if self.index is None:
            return self.load_error or f"no usable index in {self.root}"
        return self.index.staleness(cfg, embedder_fingerprint, hashes)

    # -- writes ---------------------------------------------------------------------------
    def add_document(
        self,
        doc: Document,
        chunks: list[Chunk],
        chunk_vectors: np.ndarray,
        sentences: list[Chunk],
        sentence_vectors: np.ndarray,
        file_hash: str | None = None,
    ) -> None:
        index = self.index  # the live snapshot, not one a reading() pinned
        if index is None:
            raise IndexError_(f"no usable index in {self.root}; build it with `qa index`")
        _check_new(index, doc)
        new = index.with_units(doc, chunks, chunk_vectors, sentences, sentence_vectors)
        new.manifest["docs"][doc.id] = file_hash or doc.sha256
        new.save(self.root)
        self.index = new

    def rebuild(self, docs: list[Document], file_hashes: dict[str, str], embedder: Embedder, cfg: Config) -> int:
        """One new generation of `docs`, reusing the vectors of the texts the live one has."""
        index = Index.build(docs, embedder, cfg, reuse=self.index)
        index.manifest["docs"] = file_hashes
        index.save(self.root)
        self.index, self.load_error = index, None
        return index.manifest["embedded"]


def _unit(index: Index, unit_id: str) -> Chunk | None:
    if unit_id in index.by_id:
        return index.chunks[index.by_id[unit_id]]
    i = index.sentence_by_id.get(unit_id)
    return index.sentences[i] if i is not None else None


def _check_new(index: Index, doc: Document) -> None:
    check_new_article(doc, index.text_keys.get(text_key(doc.text)), doc.id in index.docs)
