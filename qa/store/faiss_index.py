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
(reusing the vectors of unchanged chunks, keyed by model fingerprint + chunk text hash).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.text.chunking import CHUNKER_VERSION, EMBED_TEXT_VERSION, chunk_document, embedding_text, sentence_units
from qa.config import Config
from qa.text.corpus import CorpusError, DuplicateError, corpus_files, decode, make_document, read_source
from qa.models.embedder import Embedder
from qa.text.lexical import LexicalIndex
from qa.store.base import base_manifest, manifest_staleness
from qa.types import Chunk, Document, DocumentInfo

FORMAT = 2  # 2: sentence evidence units
DATA_FILES = ("docs.jsonl", "chunks.jsonl", "vectors.npy", "dense.faiss", "sentences.jsonl",
              "sentence_vectors.npy")
HNSW_ABOVE = 50_000  # exact search below this many vectors, HNSW above


class IndexError_(RuntimeError):
    pass


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunk_key(fingerprint: str, text: str) -> str:
    return _sha(f"{fingerprint}\n{text}".encode("utf-8"))


def _text_key(text: str) -> str:
    """Identity of an article's text regardless of encoding, line endings and spacing, so a
    re-encoded or re-saved copy of an indexed article is recognised as a duplicate."""
    return _sha(" ".join(text.replace("\ufeff", "").split()).encode("utf-8"))


def corpus_dirs(cfg: Config) -> list[Path]:
    return [d for d in (cfg.seeds_dir, cfg.uploads_dir) if d.is_dir()]


def corpus_hashes(cfg: Config) -> dict[str, str]:
    """doc id → sha256 of the file bytes, for every article file of the configured corpus."""
    hashes: dict[str, str] = {}
    for folder in corpus_dirs(cfg):
        for path in corpus_files(folder):
            hashes[path.stem] = _sha(path.read_bytes())
    return hashes


def _dense_index(vectors: np.ndarray):
    import faiss

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


def _embed_cached(units: list[Chunk], docs: dict[str, Document], embedder: Embedder,
                  cache: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
    """Vectors of `units` (chunks or sentences), embedding only texts not in `cache` (which
    gains them); returns the vectors and how many were embedded."""
    texts = [embedding_text(docs[u.doc_id], u) for u in units]
    keys = [_chunk_key(embedder.fingerprint, t) for t in texts]
    todo = sorted({k: i for i, k in enumerate(keys) if k not in cache}.values())
    if todo:
        for i, vec in zip(todo, embedder.embed_documents([texts[i] for i in todo])):
            cache[keys[i]] = vec
    if not units:
        return np.zeros((0, embedder.dim), np.float32), 0
    return np.stack([cache[k] for k in keys]).astype(np.float32), len(todo)


class Index:
    """An immutable snapshot: documents, chunks, their vectors, the FAISS and BM25 indexes, and
    the sentence evidence units with their vectors."""

    def __init__(self, docs: list[Document], chunks: list[Chunk], vectors: np.ndarray,
                 manifest: dict, dense=None, sentences: list[Chunk] | None = None,
                 sentence_vectors: np.ndarray | None = None):
        self.docs = {d.id: d for d in docs}
        self.chunks = chunks
        self.vectors = vectors
        self.manifest = manifest
        self.dense = dense if dense is not None else _dense_index(vectors)
        self.lexical = LexicalIndex([c.text for c in chunks])
        self.by_id = {c.id: i for i, c in enumerate(chunks)}
        self.sentences = sentences or []
        self.sentence_vectors = (sentence_vectors if sentence_vectors is not None
                                 else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32))
        self.sentence_by_id = {s.id: i for i, s in enumerate(self.sentences)}
        self.doc_sentences: dict[str, list[int]] = {}
        for i, s in enumerate(self.sentences):
            self.doc_sentences.setdefault(s.doc_id, []).append(i)
        self._doc_chunks: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            self._doc_chunks.setdefault(c.doc_id, []).append(i)

    def unit(self, unit_id: str) -> Chunk | None:
        """The chunk or sentence with this id (citations name either), or None."""
        if unit_id in self.by_id:
            return self.chunks[self.by_id[unit_id]]
        i = self.sentence_by_id.get(unit_id)
        return self.sentences[i] if i is not None else None

    def context(self, unit_id: str) -> Chunk | None:
        """The chunk that holds a cited unit (a sentence is shown inside its passage), or None."""
        unit = self.unit(unit_id)
        if unit is None or unit_id in self.by_id:
            return unit
        return next((self.chunks[i] for i in self._doc_chunks.get(unit.doc_id, [])
                     if self.chunks[i].start <= unit.start and unit.end <= self.chunks[i].end), unit)

    # -- the read side of qa.store.Store (rows are chunk positions, in the order added) -------
    def reading(self):
        return contextlib.nullcontext()  # an Index is an immutable snapshot

    def count(self) -> int:
        return len(self.chunks)

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks or k <= 0:
            return []
        scores, ids = self.dense.search(vector[None, :].astype(np.float32), min(k, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.lexical.search(query, k)

    def chunks_at(self, rows: list[int]) -> list[Chunk]:
        return [self.chunks[i] for i in rows]

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        return self.vectors[list(rows)]

    def unit_vector(self, unit_id: str) -> np.ndarray:
        if unit_id in self.by_id:
            return self.vectors[self.by_id[unit_id]]
        return self.sentence_vectors[self.sentence_by_id[unit_id]]

    def unit_vectors(self, unit_ids: list[str]) -> np.ndarray:
        if not unit_ids:
            return np.zeros((0, self.vectors.shape[1]), np.float32)
        return np.stack([self.unit_vector(i) for i in unit_ids])

    def document(self, doc_id: str) -> Document | None:
        return self.docs.get(doc_id)

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(d.id, d.title, d.date, d.lang, len(self._doc_chunks.get(d.id, [])))
                for d in sorted(self.docs.values(), key=lambda d: d.id)]

    def sentences_of(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        rows = [i for doc_id in dict.fromkeys(doc_ids) for i in self.doc_sentences.get(doc_id, [])]
        return [self.sentences[i] for i in rows], self.sentence_vectors[rows]

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def build(cls, docs: list[Document], embedder: Embedder, cfg: Config,
              reuse: "Index | None" = None) -> "Index":
        chunks = [c for d in docs for c in chunk_document(d, cfg.chunk_max_chars, cfg.chunk_overlap_sentences)]
        cache: dict[str, np.ndarray] = {}
        if (reuse is not None and reuse.manifest.get("embed_fingerprint") == embedder.fingerprint
                and reuse.manifest.get("embed_text") == EMBED_TEXT_VERSION):
            cache = {_chunk_key(embedder.fingerprint, embedding_text(reuse.docs[c.doc_id], c)): reuse.vectors[i]
                     for i, c in enumerate(reuse.chunks) if c.doc_id in reuse.docs}
            cache.update({_chunk_key(embedder.fingerprint, embedding_text(reuse.docs[s.doc_id], s)):
                          reuse.sentence_vectors[i] for i, s in enumerate(reuse.sentences) if s.doc_id in reuse.docs})
        by_id = {d.id: d for d in docs}
        sentences = [s for d in docs for s in sentence_units(d)]
        # a one-sentence chunk and its sentence unit embed the same text: embedded once
        vectors, embedded = _embed_cached(chunks, by_id, embedder, cache)
        sentence_vectors, embedded_sentences = _embed_cached(sentences, by_id, embedder, cache)
        manifest = dict(base_manifest(cfg, embedder.fingerprint, embedder.dim), docs={d.id: d.sha256 for d in docs},
                        chunks=len(chunks), sentences=len(sentences), embedded=embedded + embedded_sentences)
        return cls(docs, chunks, vectors, manifest, sentences=sentences, sentence_vectors=sentence_vectors)

    def with_document(self, doc: Document, embedder: Embedder, cfg: Config) -> "Index":
        """A new snapshot with `doc` added; only its chunks are embedded."""
        self.check_new(doc)
        new_chunks = chunk_document(doc, cfg.chunk_max_chars, cfg.chunk_overlap_sentences)
        new_sentences = sentence_units(doc)
        cache: dict[str, np.ndarray] = {}
        new_vectors, embedded = _embed_cached(new_chunks, {doc.id: doc}, embedder, cache)
        new_sentence_vectors, embedded_sentences = _embed_cached(new_sentences, {doc.id: doc}, embedder, cache)
        return self.with_units(doc, new_chunks, new_vectors, new_sentences, new_sentence_vectors,
                               embedded + embedded_sentences)

    def check_new(self, doc: Document) -> None:
        """Raises DuplicateError (same bytes or text as an indexed article) or CorpusError (id taken)."""
        key = _text_key(doc.text)
        for other in self.docs.values():
            if other.sha256 == doc.sha256 or _text_key(other.text) == key:
                raise DuplicateError(f"this article is already indexed as {other.id}")
        if doc.id in self.docs:
            raise CorpusError(f"an article named {doc.id} is already indexed")

    def with_units(self, doc: Document, new_chunks: list[Chunk], new_vectors: np.ndarray,
                   new_sentences: list[Chunk], new_sentence_vectors: np.ndarray, embedded: int = 0) -> "Index":
        """A new snapshot with `doc` and its already embedded units added."""
        new_vectors = np.asarray(new_vectors, np.float32).reshape(len(new_chunks), -1)
        vectors = np.concatenate([self.vectors, new_vectors]).astype(np.float32)
        manifest = dict(self.manifest, docs={**self.manifest["docs"], doc.id: doc.sha256},
                        chunks=len(self.chunks) + len(new_chunks),
                        sentences=len(self.sentences) + len(new_sentences),
                        embedded=embedded, created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        dense = None
        if len(vectors) <= HNSW_ABOVE and len(self.vectors) <= HNSW_ABOVE:
            import faiss

            dense = faiss.clone_index(self.dense)
            dense.add(new_vectors)
        sentence_vectors = np.asarray(new_sentence_vectors, np.float32).reshape(len(new_sentences), -1)
        return Index(list(self.docs.values()) + [doc], self.chunks + new_chunks, vectors, manifest, dense,
                     self.sentences + new_sentences,
                     np.concatenate([self.sentence_vectors, sentence_vectors]).astype(np.float32))

    # -- persistence --------------------------------------------------------------------------
    def save(self, root: Path) -> Path:
        import faiss

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
            "".join(json.dumps(asdict(d), ensure_ascii=False) + "\n" for d in self.docs.values()), encoding="utf-8")
        (tmp / "chunks.jsonl").write_text(
            "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in self.chunks), encoding="utf-8")
        (tmp / "sentences.jsonl").write_text(
            "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in self.sentences), encoding="utf-8")
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
    def load(cls, root: Path) -> "Index":
        """Load the live generation; raises IndexError_ saying what is wrong."""
        import faiss

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
        try:
            docs = [Document(**{**d, "spans": tuple(map(tuple, d["spans"]))})
                    for d in map(json.loads, (gen / "docs.jsonl").read_text(encoding="utf-8").splitlines())]
            chunks, sentences = (
                [Chunk(**{**c, "sentences": tuple(map(tuple, c["sentences"]))})
                 for c in map(json.loads, (gen / name).read_text(encoding="utf-8").splitlines())]
                for name in ("chunks.jsonl", "sentences.jsonl"))
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
        if vectors.ndim != 2 or vectors.shape[1] != dim or dense.d != dim or sentence_vectors.ndim != 2 \
                or sentence_vectors.shape[1] != dim:
            raise IndexError_("index vectors do not have the dimension recorded in the manifest")
        ids = {d.id for d in docs}
        if ids != set(manifest.get("docs") or {}) or any(c.doc_id not in ids for c in chunks + sentences):
            raise IndexError_("index files disagree on the list of articles")
        return cls(docs, chunks, vectors, manifest, dense, sentences, sentence_vectors)

    def staleness(self, cfg: Config, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        """Why this index does not fit the configuration and corpus, or None when it does."""
        return manifest_staleness(self.manifest, cfg, embedder_fingerprint, hashes)


_build_lock = threading.Lock()


def read_corpus(cfg: Config) -> tuple[list[Document], dict[str, str]]:
    """The corpus documents and the sha256 of each file's bytes (what the manifest records, so a
    file stored as GB18030, with a BOM or not NFC-normalised does not look changed on every load).
    Raises CorpusError naming the file when one is unusable or repeats another article."""
    docs, hashes, seen, texts = [], {}, {}, {}
    for folder in corpus_dirs(cfg):
        for path in corpus_files(folder):
            if path.stem in seen:
                raise CorpusError(f"two articles are named {path.stem} ({seen[path.stem]} and {path})")
            seen[path.stem] = path
            data = path.read_bytes()
            doc = make_document(path.stem, decode(data, path.name), str(path), **read_source(path))
            key = _text_key(doc.text)
            if key in texts:
                raise CorpusError(f"{path} repeats the article {texts[key]}; remove one of the two files")
            texts[key] = path
            docs.append(doc)
            hashes[doc.id] = _sha(data)
    if not docs:
        raise CorpusError(f"no .txt or .md articles in {', '.join(map(str, corpus_dirs(cfg))) or cfg.seeds_dir}")
    return docs, hashes


def load_documents(cfg: Config) -> list[Document]:
    return read_corpus(cfg)[0]


def load_or_build(cfg: Config, embedder: Embedder, rebuild: bool = False, log=None) -> Index:
    """The index for `cfg`: loaded when fresh and intact, otherwise (re)built and saved."""
    say = log or (lambda msg: print(f"[qa index] {msg}", file=sys.stderr, flush=True))
    with _build_lock:
        hashes = corpus_hashes(cfg)
        old = None
        try:
            old = Index.load(cfg.index_dir)
            reason = "a rebuild was requested" if rebuild else old.staleness(cfg, embedder.fingerprint, hashes)
        except IndexError_ as err:
            reason = str(err)
        if old is not None and reason is None:
            return old
        say(f"building the index: {reason}")
        started = time.perf_counter()
        docs, file_hashes = read_corpus(cfg)
        index = Index.build(docs, embedder, cfg, reuse=old)
        index.manifest["docs"] = file_hashes
        index.save(cfg.index_dir)
        say(f"indexed {len(index.docs)} articles, {len(index.chunks)} chunks "
            f"({index.manifest['embedded']} embedded) in {time.perf_counter() - started:.1f} s")
        return index
