"""The PostgreSQL + pgvector store: one database shared by any number of processes.

Tables (all ``qa_``-prefixed): ``qa_meta`` (one row: the manifest, the chunk count and the
total token length, locked by each writer so adds are serialised), ``qa_docs``, ``qa_chunks``
and ``qa_sentences`` (unit JSON + ``vector(dim)``), ``qa_postings`` (term, chunk row, tf) made
by our own ``qa.lexical.doc_tokens`` so CJK and Arabic tokenise exactly as in the FAISS store.

- Dense: inner product of unit vectors (``<#>``), exact (sequential scan) up to
  ``qa.index.HNSW_ABOVE`` chunks, an HNSW index above it, as the FAISS store does.
- Lexical: BM25 computed in SQL with bm25s's "lucene" formula and K1/B (qa.lexical), so both
  stores give the same scores (float64 here, float32 in bm25s: equal ranks up to near-ties).
- An article is added in one transaction: a killed writer leaves nothing half-indexed.
- Readers use a read-only REPEATABLE READ transaction per retrieval (``reading()``), so a
  retrieval sees the store before or after a concurrent add, never between.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import Counter
from dataclasses import asdict

import numpy as np

from .corpus import CorpusError, DuplicateError
from .index import HNSW_ABOVE, _text_key
from .lexical import B, K1, doc_tokens, tokenize
from .store import StoreError, manifest_staleness
from .types import Chunk, Document, DocumentInfo

HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 16, 80, 96

_TABLES = ("qa_postings", "qa_sentences", "qa_chunks", "qa_docs", "qa_meta")

_BM25 = f"""
WITH q AS (SELECT term, count(*) AS qn FROM unnest(%(terms)s::text[]) AS term GROUP BY term),
     m AS (SELECT n_chunks::float8 AS n, total_len::float8 / greatest(n_chunks, 1) AS avgdl FROM qa_meta),
     df AS (SELECT p.term, count(*)::float8 AS df FROM qa_postings p JOIN q USING (term) GROUP BY p.term)
SELECT p.pos, sum(q.qn * ln(1 + (m.n - df.df + 0.5) / (df.df + 0.5))
                  * p.tf / (p.tf + {K1} * (1 - {B} + {B} * c.len / m.avgdl))) AS score
FROM qa_postings p JOIN q USING (term) JOIN df USING (term) JOIN qa_chunks c ON c.pos = p.pos, m
GROUP BY p.pos ORDER BY score DESC, p.pos LIMIT %(k)s
"""


def redact(uri: str) -> str:
    """The URI without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", uri)


def vector_text(v: np.ndarray) -> str:
    return "[" + ",".join(map(repr, np.asarray(v, np.float32).astype(np.float64).tolist())) + "]"


def _chunk(data: dict) -> Chunk:
    return Chunk(**{**data, "sentences": tuple(map(tuple, data["sentences"]))})


def _document(data: dict) -> Document:
    return Document(**{**data, "spans": tuple(map(tuple, data["spans"]))})


class PostgresStore:
    def __init__(self, uri: str):
        import psycopg

        self.uri = uri
        self._lock = threading.RLock()
        try:
            self.conn = psycopg.connect(uri, autocommit=True, connect_timeout=10)
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as err:
            raise StoreError(
                f"cannot use the PostgreSQL store at {redact(uri)} ({str(err).strip().splitlines()[0]}). "
                "Start the server, or set QA_STORE_URI to a reachable database where the pgvector "
                "extension is installed (CREATE EXTENSION vector), or use QA_STORE=faiss.") from None
        from pgvector.psycopg import register_vector

        register_vector(self.conn)  # numpy arrays in and out, binary on the wire
        self.conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")
        self._dim = self._read_dim()

    def close(self) -> None:
        self.conn.close()

    def _read_dim(self) -> int | None:
        row = self.conn.execute("SELECT to_regclass('qa_meta') IS NOT NULL").fetchone()
        if not row[0]:
            return None
        row = self.conn.execute("SELECT manifest->>'dim' FROM qa_meta").fetchone()
        return int(row[0]) if row else None

    @contextlib.contextmanager
    def reading(self):
        """One consistent snapshot for a series of reads (one retrieval)."""
        with self._lock:
            if self.conn.info.transaction_status.name != "IDLE":
                yield
                return
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def _rows(self, sql: str, params=None, binary: bool = False) -> list[tuple]:
        if self._dim is None:
            self._dim = self._read_dim()
            if self._dim is None:
                return []
        with self._lock:
            return self.conn.cursor(binary=binary).execute(sql, params).fetchall()

    # -- reads ----------------------------------------------------------------------------
    @property
    def manifest(self) -> dict:
        rows = self._rows("SELECT manifest FROM qa_meta")
        if not rows:
            return {}
        docs = dict(self._rows("SELECT id, file_hash FROM qa_docs"))
        n = self._rows("SELECT n_chunks, n_sentences FROM qa_meta")[0]
        return dict(rows[0][0], docs=docs, chunks=int(n[0]), sentences=int(n[1]))

    def count(self) -> int:
        rows = self._rows("SELECT n_chunks FROM qa_meta")
        return int(rows[0][0]) if rows else 0

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        rows = self._rows("SELECT pos, -(embedding <#> %(v)s::vector) FROM qa_chunks "
                          "ORDER BY embedding <#> %(v)s::vector LIMIT %(k)s", {"v": np.asarray(vector, np.float32), "k": k})
        return sorted(((int(p), float(s)) for p, s in rows), key=lambda r: (-r[1], r[0]))

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = tokenize(query)
        if not terms or k <= 0:
            return []
        return [(int(p), float(s)) for p, s in self._rows(_BM25, {"terms": terms, "k": k}) if s > 0]

    def chunks_at(self, rows: list[int]) -> list[Chunk]:
        found = dict(self._rows("SELECT pos, data FROM qa_chunks WHERE pos = ANY(%s)", (list(rows),)))
        return [_chunk(found[r]) for r in rows]

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self._dim or 0), np.float32)
        found = dict(self._rows("SELECT pos, embedding FROM qa_chunks WHERE pos = ANY(%s)", (list(rows),), binary=True))
        return np.stack([np.asarray(found[r].to_numpy(), np.float32) for r in rows])

    def unit(self, unit_id: str) -> Chunk | None:
        rows = self._rows("SELECT data FROM qa_chunks WHERE id = %(i)s UNION ALL "
                          "SELECT data FROM qa_sentences WHERE id = %(i)s", {"i": unit_id})
        return _chunk(rows[0][0]) if rows else None

    def document(self, doc_id: str) -> Document | None:
        rows = self._rows("SELECT data FROM qa_docs WHERE id = %s", (doc_id,))
        return _document(rows[0][0]) if rows else None

    def document_ids(self) -> set[str]:
        return {r[0] for r in self._rows("SELECT id FROM qa_docs")}

    def document_sentences(self, doc_id: str) -> list[Chunk]:
        return [_chunk(r[0]) for r in self._rows("SELECT data FROM qa_sentences WHERE doc_id = %s ORDER BY pos",
                                                 (doc_id,))]

    def staleness(self, cfg, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        """As the FAISS store's, except that articles added to the store by any process
        (``qa index --add``) count as part of it: only the corpus files must all be there."""
        m = self.manifest
        if not m:
            return f"the PostgreSQL store at {redact(self.uri)} is empty"
        stored = m["docs"]
        return manifest_staleness(dict(m, docs={k: stored.get(k) for k in hashes}), cfg, embedder_fingerprint, hashes)

    # -- writes ---------------------------------------------------------------------------
    def reset(self, manifest: dict) -> None:
        dim = int(manifest["dim"])
        with self._lock, self.conn.transaction():
            self.conn.execute("DROP TABLE IF EXISTS " + ", ".join(_TABLES))
            for sql in _schema(dim):
                self.conn.execute(sql)
            self.conn.execute("INSERT INTO qa_meta VALUES (1, %s, 0, 0, 0)",
                              (json.dumps(dict(manifest, docs={}, chunks=0, sentences=0)),))
        self._dim = dim

    def add_document(self, doc: Document, chunks: list[Chunk], chunk_vectors: np.ndarray,
                     sentences: list[Chunk], sentence_vectors: np.ndarray, file_hash: str | None = None) -> None:
        self.add_documents([(doc, chunks, chunk_vectors, sentences, sentence_vectors, file_hash)])

    def add_documents(self, items: list[tuple]) -> None:
        """Several articles (add_document's arguments, one tuple each) in one transaction, the
        HNSW index built once at the end when the batch crosses HNSW_ABOVE (bulk loads)."""
        import psycopg

        if self._dim is None:
            raise StoreError(f"the PostgreSQL store at {redact(self.uri)} is empty; build it with `qa index`")
        try:
            with self._lock, self.conn.transaction():
                first = None
                for doc, chunks, chunk_vectors, sentences, sentence_vectors, file_hash in items:
                    n_chunks = self._claim(doc)
                    first = n_chunks if first is None else first
                    self._insert(doc, chunks, chunk_vectors, sentences, sentence_vectors, n_chunks, file_hash)
                if first is not None and first <= HNSW_ABOVE < self._claim_count():
                    self._create_hnsw()
        except psycopg.errors.UniqueViolation as err:  # a concurrent writer added it first
            raise DuplicateError(f"this article is already indexed ({err.diag.message_detail})") from None

    def _claim_count(self) -> int:
        return int(self.conn.execute("SELECT n_chunks FROM qa_meta").fetchone()[0])

    def _create_hnsw(self) -> None:
        self.conn.execute("SET LOCAL maintenance_work_mem = '2GB'")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS qa_chunks_hnsw ON qa_chunks USING hnsw (embedding vector_ip_ops) "
                          f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")

    def _claim(self, doc: Document) -> int:
        """Inside the add transaction: lock the store for writing, refuse duplicates, and return
        the number of chunks (the first row of the new ones)."""
        n_chunks = self.conn.execute("SELECT n_chunks FROM qa_meta FOR UPDATE").fetchone()[0]
        row = self.conn.execute("SELECT id FROM qa_docs WHERE sha256 = %s OR text_key = %s LIMIT 1",
                                (doc.sha256, _text_key(doc.text))).fetchone()
        if row:
            raise DuplicateError(f"this article is already indexed as {row[0]}")
        if self.conn.execute("SELECT 1 FROM qa_docs WHERE id = %s", (doc.id,)).fetchone():
            raise CorpusError(f"an article named {doc.id} is already indexed")
        return int(n_chunks)

    def _insert(self, doc: Document, chunks: list[Chunk], chunk_vectors: np.ndarray,
                sentences: list[Chunk], sentence_vectors: np.ndarray, first: int, file_hash: str | None) -> None:
        cur = self.conn.cursor()
        cur.execute("INSERT INTO qa_docs (id, sha256, text_key, data, file_hash) VALUES (%s, %s, %s, %s, %s)",
                    (doc.id, doc.sha256, _text_key(doc.text), json.dumps(asdict(doc), ensure_ascii=False),
                     file_hash or doc.sha256))
        lengths = _copy_chunks(cur, chunks, chunk_vectors, first)
        n_sentences = cur.execute("SELECT n_sentences FROM qa_meta").fetchone()[0]
        with cur.copy("COPY qa_sentences (pos, id, doc_id, data, embedding) FROM STDIN") as copy:
            for i, (s, v) in enumerate(zip(sentences, sentence_vectors)):
                copy.write_row((n_sentences + i, s.id, s.doc_id, json.dumps(asdict(s), ensure_ascii=False),
                                vector_text(v)))
        cur.execute("UPDATE qa_meta SET n_chunks = n_chunks + %s, total_len = total_len + %s, "
                    "n_sentences = n_sentences + %s", (len(chunks), sum(lengths), len(sentences)))

    # -- the assistant's reads and its upload check (qa.store.Store), one query each ------------
    def unit_vectors(self, unit_ids: list[str]) -> np.ndarray:
        if not unit_ids:
            return np.zeros((0, self._dim or 0), np.float32)
        rows = self._rows("SELECT id, embedding, 1 FROM qa_chunks WHERE id = ANY(%(i)s) UNION ALL "
                          "SELECT id, embedding, 0 FROM qa_sentences WHERE id = ANY(%(i)s)",
                          {"i": list(unit_ids)}, binary=True)
        found = {i: v for i, v, _ in sorted(rows, key=lambda r: r[2])}  # a chunk id wins, as in Index.unit
        return np.stack([np.asarray(found[i].to_numpy(), np.float32) for i in unit_ids])

    def context(self, unit_id: str) -> Chunk | None:
        rows = self._rows(_CONTEXT, {"i": unit_id})
        return _chunk(rows[0][0]) if rows else None

    def documents(self) -> list[DocumentInfo]:
        rows = self._rows("SELECT d.id, d.data->>'title', d.data->>'date', d.data->>'lang', count(c.pos) "
                          "FROM qa_docs d LEFT JOIN qa_chunks c ON c.doc_id = d.id "
                          'GROUP BY d.id ORDER BY d.id COLLATE "C"')
        return [DocumentInfo(i, t, d, lang, int(n)) for i, t, d, lang, n in rows]

    def sentences_of(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        rows = self._rows("SELECT s.data, s.embedding FROM qa_sentences s "
                          "JOIN unnest(%s::text[]) WITH ORDINALITY AS q(doc_id, n) USING (doc_id) ORDER BY q.n, s.pos",
                          (list(dict.fromkeys(doc_ids)),), binary=True)
        if not rows:
            return [], np.zeros((0, self._dim or 0), np.float32)
        return [_chunk(d) for d, _ in rows], np.stack([np.asarray(v.to_numpy(), np.float32) for _, v in rows])

    def check_new(self, doc: Document) -> None:
        rows = self._rows("SELECT id, sha256 = %(s)s OR text_key = %(t)s AS same FROM qa_docs "
                          "WHERE sha256 = %(s)s OR text_key = %(t)s OR id = %(i)s ORDER BY same DESC LIMIT 1",
                          {"s": doc.sha256, "t": _text_key(doc.text), "i": doc.id})
        if rows and rows[0][1]:
            raise DuplicateError(f"this article is already indexed as {rows[0][0]}")
        if rows:
            raise CorpusError(f"an article named {doc.id} is already indexed")


# The chunk holding a unit: the chunk itself, else the first chunk of its article around the
# sentence, else the sentence (as qa.index.Index.context).
_CONTEXT = """
SELECT data FROM (
  SELECT 0 AS k, pos, data FROM qa_chunks WHERE id = %(i)s
  UNION ALL
  SELECT 1, c.pos, c.data FROM qa_sentences s JOIN qa_chunks c ON c.doc_id = s.doc_id
    AND (c.data->>'start')::int <= (s.data->>'start')::int AND (s.data->>'end')::int <= (c.data->>'end')::int
  WHERE s.id = %(i)s
  UNION ALL
  SELECT 2, pos, data FROM qa_sentences WHERE id = %(i)s) u
ORDER BY k, pos LIMIT 1
"""

def _copy_chunks(cur, chunks: list[Chunk], vectors: np.ndarray, first: int) -> list[int]:
    """COPY the chunks and their postings; returns their token lengths."""
    lengths, postings = [], []
    with cur.copy("COPY qa_chunks (pos, id, doc_id, len, data, embedding) FROM STDIN") as copy:
        for i, (c, v) in enumerate(zip(chunks, vectors)):
            tokens = doc_tokens(c.text)
            lengths.append(len(tokens))
            postings += [(term, first + i, tf) for term, tf in Counter(tokens).items()]
            copy.write_row((first + i, c.id, c.doc_id, len(tokens), json.dumps(asdict(c), ensure_ascii=False),
                            vector_text(v)))
    with cur.copy("COPY qa_postings (term, pos, tf) FROM STDIN") as copy:
        for row in postings:
            copy.write_row(row)
    return lengths


def _schema(dim: int) -> list[str]:
    return [
        "CREATE TABLE qa_meta (id int PRIMARY KEY CHECK (id = 1), manifest jsonb NOT NULL, "
        "n_chunks bigint NOT NULL, total_len bigint NOT NULL, n_sentences bigint NOT NULL)",
        "CREATE TABLE qa_docs (id text PRIMARY KEY, sha256 text NOT NULL UNIQUE, text_key text NOT NULL UNIQUE, "
        "data jsonb NOT NULL, file_hash text)",
        f"CREATE TABLE qa_chunks (pos bigint PRIMARY KEY, id text NOT NULL UNIQUE, "
        f"doc_id text NOT NULL REFERENCES qa_docs, len int NOT NULL, data jsonb NOT NULL, embedding vector({dim}) NOT NULL)",
        f"CREATE TABLE qa_sentences (pos bigint PRIMARY KEY, id text NOT NULL UNIQUE, "
        f"doc_id text NOT NULL REFERENCES qa_docs, data jsonb NOT NULL, embedding vector({dim}) NOT NULL)",
        "CREATE TABLE qa_postings (term text NOT NULL, pos bigint NOT NULL REFERENCES qa_chunks, tf int NOT NULL)",
        "CREATE INDEX qa_postings_term ON qa_postings (term)",
        # vectors in the row, not TOASTed: an exact scan then reads no second table (fits a page
        # up to ~1,900 dimensions)
        *([f"ALTER TABLE {t} ALTER COLUMN embedding SET STORAGE PLAIN" for t in ("qa_chunks", "qa_sentences")]
          if dim <= 1900 else []),
        "CREATE INDEX qa_sentences_doc ON qa_sentences (doc_id, pos)",
    ]
