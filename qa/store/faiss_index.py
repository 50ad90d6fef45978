"""The persisted index: chunks + dense vectors (FAISS) + lexical BM25, with a manifest.

Layout under ``Config.index_dir``::

    CURRENT                 name of the live generation (replaced atomically)
    g-<time>-<rand>/        one complete generation: manifest.json, docs.jsonl, chunks.jsonl,
                            vectors.npy, dense.faiss, sentences.jsonl, sentence_vectors.npy

Chunks are what retrieval ranks; sentences (one per sentence of every article, embedded with the
sentence before it so "he"/"the company" resolve) are the evidence units the generator reads and
answers cite (qa.evidence).

A build or an incremental add writes a *new* generation directory, fsyncs it, and only then
points CURRENT at it; older generations are removed afterwards. Killing the process at any
moment leaves CURRENT on a complete generation. On load, the manifest must match the
configured embedding model, the chunker version and settings, and the corpus file hashes, and
every file must match the checksum recorded in the manifest; otherwise the index is rebuilt
(qa.store.build.load_or_build_store, reusing the vectors of unchanged chunks, keyed by model
fingerprint + chunk text hash: qa.store.embedding).

An ``Index`` is a plain immutable snapshot: its data, the lookups derived from it, and how it is
built, grown by one article's units, saved and loaded. The Store reads over it (search, units,
context, documents) are qa.store.faiss_store's.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.base import FORMAT, HNSW_ABOVE, base_manifest, manifest_staleness
from qa.store.embedding import embed_units, unit_key
from qa.store.lexical import LexicalIndex
from qa.text.chunking import EMBED_TEXT_VERSION, chunk_document, embedding_text, sentence_units
from qa.text.corpus import text_key
from qa.types import Chunk, Document

DATA_FILES = ("docs.jsonl", "chunks.jsonl", "vectors.npy", "dense.faiss", "sentences.jsonl", "sentence_vectors.npy")
# faiss is imported inside the functions that use it: importing qa.store (every shell does, and
# a PostgreSQL deployment never reads a FAISS index) does not load it (0.3 s here), and it loads
# after torch as it always has (both bring an OpenMP runtime).


class IndexError_(RuntimeError):
    pass


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _dense_index(vectors: np.ndarray):
    import faiss  # lazily, here and below (see DATA_FILES)

    dim = vectors.shape[1]
    if len(vectors) > HNSW_ABOVE:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


class Index:
    """An immutable snapshot: documents, chunks, their vectors, the FAISS and BM25 indexes, and
    the sentence evidence units with their vectors; and the lookups reads need (unit by id, an
    article's chunks and sentences)."""

    def __init__(
        self,
        docs: list[Document],
        chunks: list[Chunk],
        vectors: np.ndarray,
        manifest: dict,
        dense=None,
        sentences: list[Chunk] | None = None,
        sentence_vectors: np.ndarray | None = None,
    ):
        self.docs = {d.id: d for d in docs}
        self.chunks = chunks
        self.vectors = vectors
        self.manifest = manifest
        self.dense = dense if dense is not None else _dense_index(vectors)
        self.lexical = LexicalIndex([c.text for c in chunks])
        self.by_id = {c.id: i for i, c in enumerate(chunks)}
        self.sentences = sentences or []
        self.sentence_vectors = (
            sentence_vectors
            if sentence_vectors is not None
            else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
        )
        self.sentence_by_id = {s.id: i for i, s in enumerate(self.sentences)}
        self.doc_sentences: dict[str, list[int]] = {}
        for i, s in enumerate(self.sentences):
            self.doc_sentences.setdefault(s.doc_id, []).append(i)
        self.doc_chunks: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            self.doc_chunks.setdefault(c.doc_id, []).append(i)

    @functools.cached_property
    def text_keys(self) -> dict[str, str]:
        """text key → id of the article with that text (qa.text.corpus.text_key: the duplicate
        rule), made on the first add or duplicate check, not on every load."""
        keys: dict[str, str] = {}
        for doc in self.docs.values():
            keys.setdefault(text_key(doc.text), doc.id)
        return keys

    # -- building -----------------------------------------------------------------------------
    def vector_cache(self, fingerprint: str) -> dict[str, np.ndarray]:
        """The vectors of this snapshot's chunks and sentences by unit_key, to be reused by a
        rebuild with the same embedder (empty for another model or embedding text)."""
        m = self.manifest
        if m.get("embed_fingerprint") != fingerprint or m.get("embed_text") != EMBED_TEXT_VERSION:
            return {}
        cache = {
            unit_key(fingerprint, embedding_text(self.docs[c.doc_id], c)): self.vectors[i]
            for i, c in enumerate(self.chunks)
            if c.doc_id in self.docs
        }
        cache.update(
            {
                unit_key(fingerprint, embedding_text(self.docs[s.doc_id], s)): self.sentence_vectors[i]
                for i, s in enumerate(self.sentences)
                if s.doc_id in self.docs
            }
        )
        return cache

    @classmethod
    def build(cls, docs: list[Document], embedder: Embedder, cfg: Config, reuse: Index | None = None) -> Index:
        """The snapshot of `docs`, every text embedded in one call per unit kind, except the
        texts `reuse` (the previous generation) already has vectors for."""
        chunks = [
            c for d in docs for c in chunk_document(d, cfg.store.chunk_max_chars, cfg.store.chunk_overlap_sentences)
        ]
        cache = reuse.vector_cache(embedder.fingerprint) if reuse is not None else {}
        by_id = {d.id: d for d in docs}
        sentences = [s for d in docs for s in sentence_units(d)]
        # a one-sentence chunk and its sentence unit embed the same text: embedded once
        vectors, embedded = embed_units(chunks, by_id, embedder, cache)
        sentence_vectors, embedded_sentences = embed_units(sentences, by_id, embedder, cache)
        manifest = dict(
            base_manifest(cfg, embedder.fingerprint, embedder.dim),
            docs={d.id: d.sha256 for d in docs},
            chunks=len(chunks),
            sentences=len(sentences),
            embedded=embedded + embedded_sentences,
        )
        return cls(docs, chunks, vectors, manifest, sentences=sentences, sentence_vectors=sentence_vectors)

    def with_units(
        self,
        doc: Document,
        new_chunks: list[Chunk],
        new_vectors: np.ndarray,
        new_sentences: list[Chunk],
        new_sentence_vectors: np.ndarray,
        embedded: int = 0,
    ) -> Index:
        """A new snapshot with `doc` and its already embedded units added (no duplicate check:
        the store's add makes it, qa.store.faiss_store)."""
        new_vectors = np.asarray(new_vectors, np.float32).reshape(len(new_chunks), -1)
        vectors = np.concatenate([self.vectors, new_vectors]).astype(np.float32)
        manifest = dict(
            self.manifest,
            docs={**self.manifest["docs"], doc.id: doc.sha256},
            chunks=len(self.chunks) + len(new_chunks),
            sentences=len(self.sentences) + len(new_sentences),
            embedded=embedded,
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        dense = None
        if len(vectors) <= HNSW_ABOVE and len(self.vectors) <= HNSW_ABOVE:
            import faiss

            dense = faiss.clone_index(self.dense)
            dense.add(new_vectors)
        sentence_vectors = np.asarray(new_sentence_vectors, np.float32).reshape(len(new_sentences), -1)
        return Index(
            list(self.docs.values()) + [doc],
            self.chunks + new_chunks,
            vectors,
            manifest,
            dense,
            self.sentences + new_sentences,
            np.concatenate([self.sentence_vectors, sentence_vectors]).astype(np.float32),
        )

    # -- persistence --------------------------------------------------------------------------
    def save(self, root: Path) -> Path:
        """Write this snapshot as a new generation and make it current (atomic: see above)."""
        root.mkdir(parents=True, exist_ok=True)
        # One writer at a time, across processes too: the cleanup below must not remove a
        # generation another process is still writing or has just made current.
        with open(root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._save_locked(root)

    def _save_locked(self, root: Path) -> Path:
        import faiss

        gen = root / f"g-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        tmp = root / (gen.name + ".tmp")
        tmp.mkdir()
        (tmp / "docs.jsonl").write_text(
            "".join(json.dumps(asdict(d), ensure_ascii=False) + "\n" for d in self.docs.values()), encoding="utf-8"
        )
        (tmp / "chunks.jsonl").write_text(
            "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in self.chunks), encoding="utf-8"
        )
        (tmp / "sentences.jsonl").write_text(
            "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in self.sentences), encoding="utf-8"
        )
        with (tmp / "vectors.npy").open("wb") as f:
            np.save(f, self.vectors)
        with (tmp / "sentence_vectors.npy").open("wb") as f:
            np.save(f, self.sentence_vectors)
        faiss.write_index(self.dense, str(tmp / "dense.faiss"))
        manifest = dict(self.manifest, files={p.name: _sha_file(p) for p in sorted(tmp.iterdir())})
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        for p in tmp.iterdir():
            with p.open("rb") as f:
                os.fsync(f.fileno())
        tmp.rename(gen)
        pointer = root / "CURRENT.tmp"
        pointer.write_text(gen.name)
        with pointer.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(pointer, root / "CURRENT")
        self.manifest = manifest
        for old in root.iterdir():  # earlier generations and leftovers of interrupted writes
            if old.is_dir() and old.name.startswith("g-") and old.name != gen.name:
                shutil.rmtree(old, ignore_errors=True)
        return gen

    @classmethod
    def load(cls, root: Path) -> Index:
        """Load the live generation; raises IndexError_ saying what is wrong."""
        import faiss

        gen, manifest = _live_generation(root)
        try:
            docs = [
                Document(**{**d, "spans": tuple(map(tuple, d["spans"]))})
                for d in map(json.loads, (gen / "docs.jsonl").read_text(encoding="utf-8").splitlines())
            ]
            chunks, sentences = (
                [
                    Chunk(**{**c, "sentences": tuple(map(tuple, c["sentences"]))})
                    for c in map(json.loads, (gen / name).read_text(encoding="utf-8").splitlines())
                ]
                for name in ("chunks.jsonl", "sentences.jsonl")
            )
            vectors = np.load(gen / "vectors.npy")
            sentence_vectors = np.load(gen / "sentence_vectors.npy")
            dense = faiss.read_index(str(gen / "dense.faiss"))
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
            raise IndexError_(f"index files are unreadable ({err})") from None
        if len(chunks) != len(vectors) or dense.ntotal != len(chunks) or manifest.get("chunks") != len(chunks):
            raise IndexError_("index files disagree on the number of chunks")
        if len(sentences) != len(sentence_vectors) or manifest.get("sentences") != len(sentences):
            raise IndexError_("index files disagree on the number of sentences")
        dim = manifest.get("dim")
        if (
            vectors.ndim != 2
            or vectors.shape[1] != dim
            or dense.d != dim
            or sentence_vectors.ndim != 2
            or sentence_vectors.shape[1] != dim
        ):
            raise IndexError_("index vectors do not have the dimension recorded in the manifest")
        ids = {d.id for d in docs}
        if ids != set(manifest.get("docs") or {}) or any(c.doc_id not in ids for c in chunks + sentences):
            raise IndexError_("index files disagree on the list of articles")
        return cls(docs, chunks, vectors, manifest, dense, sentences, sentence_vectors)

    def staleness(self, cfg: Config, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        """Why this index does not fit the configuration and corpus, or None when it does."""
        return manifest_staleness(self.manifest, cfg, embedder_fingerprint, hashes)


def _live_generation(root: Path) -> tuple[Path, dict]:
    """The folder CURRENT names and its manifest, once every file listed there matches its
    checksum; raises IndexError_ saying what is wrong."""
    try:
        name = (root / "CURRENT").read_text().strip()
        if not name.startswith("g-") or "/" in name or "\\" in name or name.endswith(".tmp"):
            raise ValueError(f"CURRENT names no generation ({name[:40]!r})")
        gen = root / name
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("manifest.json is not an object")
    except (OSError, ValueError) as err:
        raise IndexError_(f"no usable index in {root} ({err.__class__.__name__}: {err})") from None
    if manifest.get("format") != FORMAT:
        raise IndexError_("index format changed")
    files = manifest.get("files")
    if not isinstance(files, dict) or not set(DATA_FILES) <= set(files):
        raise IndexError_("the index manifest does not list the checksums of all index files")
    for name, digest in files.items():
        path = gen / name
        if not path.is_file() or _sha_file(path) != digest:
            raise IndexError_(f"index file {name} is missing or does not match its checksum")
    return gen, manifest
