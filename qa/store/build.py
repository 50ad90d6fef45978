"""Opening, building and adding to a store, the same way for both engines.

- ``open_store``: the store `cfg` names (QA_STORE), opened.
- ``load_or_build_store``: that store, (re)built from the corpus (seeds + uploads) when it is
  empty, unreadable or stale; the engine writes the build its own bulk way (``rebuild``).
- ``ArticleWriter``: an article given as a file name and bytes (an upload, ``qa index --add``)
  checked (``read_upload``), given an id, embedded and added; its file kept in the uploads
  folder when asked.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.base import STORES, StoreError, WritableStore
from qa.store.embedding import embed_article
from qa.store.faiss_store import FaissStore
from qa.store.postgres import PostgresStore
from qa.text.corpus import IdTakenError, corpus_dirs, corpus_hashes, make_document, read_corpus, write_source
from qa.text.formats import Extracted, extract

_build_lock = threading.Lock()  # one build at a time in a process (its threads share the store)


def open_store(cfg: Config) -> WritableStore:
    """The store `cfg` names (QA_STORE), opened; raises StoreError saying what to fix."""
    if cfg.store.engine == "faiss":
        return FaissStore(cfg.paths.index_dir)
    if cfg.store.engine == "postgres":
        if not cfg.store.uri:
            raise StoreError(
                "QA_STORE=postgres needs QA_STORE_URI, e.g. "
                "postgresql://user:password@host:5432/qa (a database with the pgvector extension)"
            )
        return PostgresStore(cfg.store.uri)
    raise StoreError(f"unknown store {cfg.store.engine!r} (QA_STORE); choose one of: {', '.join(STORES)}")


def load_or_build_store(cfg: Config, embedder: Embedder, rebuild: bool = False, log=None) -> WritableStore:
    """The store `cfg` names, built from the corpus when empty, unreadable or stale (the message
    says why: e.g. which index file does not match its checksum, or which articles changed)."""
    say = log or (lambda msg: print(f"[qa index] {msg}", file=sys.stderr, flush=True))
    with _build_lock:
        folders = corpus_dirs(cfg)
        store = open_store(cfg)
        reason = store.staleness(cfg, embedder.fingerprint, corpus_hashes(folders))
        if rebuild and (reason is None or store.count()):  # an unreadable or empty store says why
            reason = "a rebuild was requested"
        if reason is None:
            return store
        say(f"building the index: {reason}")
        started = time.perf_counter()
        docs, file_hashes = read_corpus(folders)
        embedded = store.rebuild(docs, file_hashes, embedder, cfg)
        say(
            f"indexed {len(docs)} articles, {store.count()} chunks ({embedded} embedded) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return store


@dataclass(frozen=True)
class Upload:
    """An article file as given (its name) and its text, extracted and checked (read_upload)."""

    name: str
    found: Extracted  # the text and what the file's metadata says (qa.text.formats)

    @property
    def text(self) -> str:
        return self.found.text

    @property
    def suffix(self) -> str:
        """The stored file's extension: its own for .txt/.md, ".txt" for extracted text."""
        return self.found.suffix

    @property
    def stem(self) -> str:
        """The base of the article's id: the file name's stem in word characters, dots and
        dashes, at most 80 characters ("upload" when nothing is left)."""
        return re.sub(r"[^\w.-]+", "_", Path(self.name).stem, flags=re.UNICODE).strip("._")[:80] or "upload"


def read_upload(name: str, data: bytes) -> Upload:
    """The article file `name` with content `data` (.txt, .md, .html, .pdf, .docx), its text
    extracted and checked (type, size, decoding: a CorpusError saying why not) before any store
    or model is needed."""
    return Upload(name, extract(name, data))


class ArticleWriter:
    """The one way an article given as a file (an upload in the chat, `Assistant.add_document`,
    `qa index --add`) enters a store, either engine: checked (suffix, decoding), given a free id
    (upload_<stem>, then _2, _3 …), refused as a duplicate before anything is written, embedded,
    and added in one store write.

    With `uploads` (a folder), the article is also kept there as UTF-8 text, written before the
    store add: a crash between the two leaves the store stale (rebuilt with the file on the next
    start), never an indexed article without its file. The FAISS store needs the file (its index
    is rebuilt from the corpus folders); a shared PostgreSQL store holds the article for every
    machine (`qa index --add` writes no file there).

    One writer per thread; another process (PostgreSQL) may take an id meanwhile: the add is
    retried once with ids read again."""

    def __init__(self, store: WritableStore, embedder: Embedder, cfg: Config, uploads: Path | None = None):
        self.store, self.embedder, self.cfg, self.uploads = store, embedder, cfg, uploads
        self._taken: set[str] | None = None  # ids in use, read at the first add

    def add(self, name: str, data: bytes) -> str:
        """Add the article file `name` with content `data`; returns its document id. Raises
        CorpusError (DuplicateError for an article already indexed) saying why it was refused."""
        return self.add_upload(read_upload(name, data))

    def add_upload(self, upload: Upload) -> str:
        """add() of an upload already read and checked (read_upload)."""
        if self._taken is None:
            self._taken = self.store.document_ids()
        for attempt in range(2):
            doc_id = self._free_id(upload.stem)
            try:
                self._add(doc_id, upload)
            except IdTakenError:  # another writer took the id since the ids were read: look again, once
                if attempt:
                    raise
                self._taken = self.store.document_ids()
                continue
            self._taken.add(doc_id)
            return doc_id
        raise AssertionError("unreachable")

    def _free_id(self, stem: str) -> str:
        doc_id, n = f"upload_{stem}", 2
        while doc_id in self._taken:
            doc_id, n = f"upload_{stem}_{n}", n + 1
        return doc_id

    def _add(self, doc_id: str, upload: Upload) -> None:
        path = self.uploads / f"{doc_id}{upload.suffix}" if self.uploads is not None else None
        metadata = upload.found.metadata()
        doc = make_document(doc_id, upload.text, str(path) if path is not None else upload.name, **metadata)
        self.store.check_new(doc)  # a duplicate is refused before any file is written
        units = embed_article(doc, self.embedder, self.cfg)
        if path is None:
            self.store.add_document(doc, *units)
            return
        self.uploads.mkdir(parents=True, exist_ok=True)
        # an HTML, PDF or Word file is kept as its extracted text (<id>.txt), which is what is
        # chunked and cited; its original name, type and metadata beside it (<id>.source.json)
        written = [write_source(path, metadata)] if upload.found.converted else []
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(upload.text.encode("utf-8"))
        tmp.replace(path)
        written.append(path)
        try:
            # the manifest records the file as written (UTF-8), so the index stays fresh on
            # restart; the FAISS store saves a new generation, PostgreSQL adds in one transaction
            self.store.add_document(doc, *units, hashlib.sha256(path.read_bytes()).hexdigest())
        except BaseException:
            for file in written:
                file.unlink(missing_ok=True)
            raise
