"""The PostgreSQL + pgvector store: one database shared by any number of processes.

Tables (all ``qa_``-prefixed): ``qa_meta`` (one row: the manifest, the chunk count and the
total token length, locked by each writer so adds are serialised), ``qa_docs``, ``qa_chunks``
and ``qa_sentences`` (unit JSON + ``vector(dim)``), ``qa_postings`` (term, chunk row, tf, chunk
length, impact) made by our own ``qa.text.lexical.doc_tokens`` so CJK and Arabic tokenise exactly as
in the FAISS store, and ``qa_terms`` (term, document frequency), kept by each add.

- Dense: inner product of unit vectors (``<#>``), exact (sequential scan) up to
  ``qa.store.base.HNSW_ABOVE`` chunks, an HNSW index above it, as the FAISS store does; a bulk load
  of more than IVFFLAT_ABOVE chunks gets an IVFFlat index instead (its HNSW build is too slow).
- Lexical: BM25 computed in SQL with bm25s's "lucene" formula and K1/B (qa.text.lexical), so both
  stores give the same scores (float64 here, float32 in bm25s: equal ranks up to near-ties),
  reading at most TOP_POSTINGS postings per query term (exact below that; see _BM25).
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
from dataclasses import asdict, dataclass, field

import numpy as np

from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.base import HNSW_ABOVE, StoreError, base_manifest, manifest_staleness
from qa.store.embedding import embed_article
from qa.text.corpus import DuplicateError, check_new_article, text_key
from qa.text.lexical import K1, B, doc_tokens, tokenize
from qa.types import Chunk, Document, DocumentInfo

HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 16, 80, 96
BUILD_MEMORY_MB = 8192  # cap of maintenance_work_mem for a dense index build (the server's RAM is unknown here)

# The dense index is made once, by the add that takes the store over HNSW_ABOVE chunks: HNSW
# (then kept up to date row by row) unless that add leaves more than IVFFLAT_ABOVE chunks (a
# bulk load), which gets IVFFlat: k-means lists, each query scanning the `probes` lists nearest
# to it. Measured here (2 shared cores, pgvector 0.6.2, 768-d clustered synthetic vectors of
# qa.measure.bench_store, leader + 1 parallel worker; recall@10 against exact inner product, 50 queries):
#   100k  HNSW m 16, ef_construction 80: build 119 s; ef_search 96: recall 1.000, 6.6 ms
#   100k  IVFFlat 100 lists: build 6 s; 16 probes: 0.834, 17.6 ms (lists coarser than the
#         clusters); 316 lists: 9 s; 8 probes: 0.906, 2.9 ms; 32: 0.946, 11.6 ms
#   200k  IVFFlat 447 lists: 17 s, 16 probes: 0.964, 9.9 ms; 1,000 lists: 43 s; 1 probe to 32:
#         1.000, 2.0 to 8.5 ms (lists about as fine as the corpus's 2,000 clusters)
#   200k  HNSW m 16, ef_construction 80: build 268 s; ef_search 96: recall 0.940, 8.3 ms
#   1M    IVFFlat 1,000 lists, 10 probes: the whole bulk load (COPY, postings indexed, IVFFlat,
#         VACUUM) 383 s; recall 1.000, 13.9 ms p50 (qa bench --stores --large)
# The graph build grew 2.25x for 2x the rows: extrapolated, ~30 minutes at 1M on this machine
# (not run; and lower recall at the same ef_search), where IVFFlat's grows as rows x lists. The
# probes are a share of the lists, 10x what the clustered synthetic corpus needs for recall 1.0
# at 200k (1 probe): real embeddings are less cleanly clustered. The lists are fixed at build
# time: a store grown far past its bulk load scans longer lists (REINDEX INDEX
# qa_chunks_ivfflat re-clusters).
IVFFLAT_ABOVE = 500_000
IVFFLAT_ROWS_PER_LIST = 1000  # lists = chunks / this at build time (pgvector's advice up to 1M rows)
IVFFLAT_PROBED = 0.01  # share of the lists a query scans (ivfflat.probes)

_TABLES = ("qa_terms", "qa_postings", "qa_sentences", "qa_chunks", "qa_docs", "qa_meta")

# Lexical search reads, for each query term, only its `top_postings` (TOP_POSTINGS) postings of
# highest impact (an index-only scan of qa_postings_impact, which carries tf and length), and
# scores the chunks met with the postings read (a lower bound of their BM25 score: a chunk may
# contain a term beyond that term's top list). The RESCORED best of those are then scored
# exactly (every query term's posting, by primary key; current N, avgdl and df), and the best k
# of them returned with their exact scores.
# Exact: while no query term has more than `top_postings` postings (every corpus under that many
# chunks, and rare terms at any size) every posting of every query term is read, the lower
# bound is the score, and rows, scores and order equal bm25s's.
# Beyond it (common terms in a large store) a chunk is missed when it is in no top list of its
# terms or its partial score is not among the RESCORED best: a chunk whose common terms are each
# no more frequent in it than in thousands of others, so each adds a small (low-idf) amount;
# and lexical hits vote at lexical_weight 0.05 in the fused ranking.
# Measured on 1M synthetic chunks (qa.measure.bench_store Zipf texts, 3-token queries, 50 queries, 2
# shared cores): recall 0.907 of the top 30 against bm25s's exact top 30; 25.6 ms p50, 34.4 ms p95
# with the postings in memory (28 / 52 ms right after the load).
TOP_POSTINGS = 3000
RESCORED = 1000

_TF = f"p.tf / (p.tf + {K1} * (1 - {B} + {B} * p.len / m.avgdl))"  # BM25's tf factor, current avgdl

# `seen`: the query terms whose postings were read for the chunk. A chunk's score is its partial
# score plus, for each truncated term (df > top) not seen, its posting looked up by primary key
# (none for a term read whole: the chunk would have been seen). The lookups are a LATERAL
# subquery that cannot be flattened (OFFSET 0), so each is one primary-key probe; as a join the
# planner reads whole posting lists instead (measured at 100k chunks: 50-400 ms instead of ~10).
# Each term's top list is its own branch with the term as a value (_top_lists), so the planner
# sees that term's statistics: with one parameterised scan for all terms it assumed an average
# term's 400 postings and read and sorted all 43,000 of a common one (320 ms instead of ~15).
_BM25 = f"""
WITH q AS (SELECT term, count(*) AS qn FROM unnest(%(terms)s::text[]) AS term GROUP BY term),
     m AS (SELECT n_chunks::float8 AS n, total_len::float8 / greatest(n_chunks, 1) AS avgdl FROM qa_meta),
     t AS (SELECT q.term, d.df, q.qn * ln(1 + (m.n - d.df + 0.5) / (d.df + 0.5)) AS w
           FROM q JOIN qa_terms d USING (term), m),
     c AS MATERIALIZED (
         SELECT p.pos, sum(t.w * {_TF}) AS partial, array_agg(p.term) AS seen
         FROM ({{top_lists}}) AS p JOIN t USING (term), m
         GROUP BY p.pos ORDER BY partial DESC, p.pos LIMIT %(rescored)s)
SELECT c.pos, c.partial + coalesce((
           SELECT sum(t.w * {_TF}) FROM t CROSS JOIN m CROSS JOIN LATERAL (
               SELECT p.tf, p.len FROM qa_postings p WHERE p.pos = c.pos AND p.term = t.term OFFSET 0) AS p
           WHERE t.df > %(top)s AND t.term <> ALL(c.seen)), 0) AS score
FROM c ORDER BY score DESC, c.pos LIMIT %(k)s
"""


def _top_lists(n_terms: int) -> str:
    return " UNION ALL ".join(
        f"(SELECT term, pos, tf, len FROM qa_postings WHERE term = %(t{i})s ORDER BY impact DESC, pos LIMIT %(top)s)"
        for i in range(n_terms)
    )


_POSTINGS_PKEY = "ALTER TABLE qa_postings ADD CONSTRAINT qa_postings_pkey PRIMARY KEY (pos, term)"
_POSTINGS_IMPACT = "CREATE INDEX qa_postings_impact ON qa_postings (term, impact DESC, pos) INCLUDE (tf, len)"
# a batch of at least this many chunks into an empty store indexes its postings after loading them
BULK_ABOVE = 10_000

# The table layout this module reads and writes (in the manifest): a store made by an older
# layout is stale, so it is rebuilt rather than read with the wrong queries.
# 3: qa_chunks_doc (chunks by article); IVFFlat above IVFFLAT_ABOVE.
LAYOUT = 3


def impact(tf: int, length: int, avgdl: float) -> float:
    """BM25's term-frequency factor with the average length at the time the chunk is added: the
    order of a term's postings. Exact scores are computed at query time with the current avgdl;
    the order only decides which postings are read first, and avgdl drifts slowly once a store
    holds more than a few articles."""
    return tf / (tf + K1 * (1 - B + B * length / avgdl))


def ivfflat_lists(rows: int) -> int:
    return max(1, rows // IVFFLAT_ROWS_PER_LIST)


def ivfflat_probes(lists: int) -> int:
    return max(1, min(lists, round(lists * IVFFLAT_PROBED)))


def redact(uri: str) -> str:
    """The URI without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", uri)


def _chunk(data: dict) -> Chunk:
    return Chunk(**{**data, "sentences": tuple(map(tuple, data["sentences"]))})


def _document(data: dict) -> Document:
    return Document(**{**data, "spans": tuple(map(tuple, data["spans"]))})


class PostgresStore:
    def __init__(
        self,
        uri: str,
        top_postings: int = TOP_POSTINGS,
        bulk_above: int = BULK_ABOVE,
        hnsw_above: int = HNSW_ABOVE,
        ivfflat_above: int = IVFFLAT_ABOVE,
    ):
        """`top_postings`: postings read per query term (TOP_POSTINGS); `bulk_above`: chunks in
        one add into an empty store from which postings are indexed after loading (BULK_ABOVE);
        `hnsw_above`, `ivfflat_above`: the dense index's thresholds (HNSW_ABOVE, IVFFLAT_ABOVE).
        Small values are for tests of the truncation, the bulk path and the dense indexes."""
        # lazily, here and in add_documents: psycopg and pgvector are an optional extra
        # (pip install -e '.[postgres]'); the FAISS store runs without them
        import psycopg

        if top_postings < 1:
            raise StoreError(f"top_postings must be at least 1, not {top_postings}")
        self.uri, self.top_postings, self.bulk_above = uri, top_postings, bulk_above
        self.hnsw_above, self.ivfflat_above = hnsw_above, ivfflat_above
        self._lock = threading.RLock()
        try:
            self.conn = psycopg.connect(uri, autocommit=True, connect_timeout=10)
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as err:
            raise StoreError(
                f"cannot use the PostgreSQL store at {redact(uri)} ({str(err).strip().splitlines()[0]}). "
                "Start the server, or set QA_STORE_URI to a reachable database where the pgvector "
                "extension is installed (CREATE EXTENSION vector), or use QA_STORE=faiss."
            ) from None
        from pgvector.psycopg import register_vector

        register_vector(self.conn)  # numpy arrays in and out, binary on the wire
        self.conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")
        self._dim = self._read_dim()
        self._set_probes()

    def close(self) -> None:
        self.conn.close()

    def _read_dim(self) -> int | None:
        row = self.conn.execute("SELECT to_regclass('qa_meta') IS NOT NULL").fetchone()
        if not row[0]:
            return None
        row = self.conn.execute("SELECT manifest->>'dim' FROM qa_meta").fetchone()
        return int(row[0]) if row else None

    def _ivfflat_lists(self) -> int | None:
        """The number of lists of this store's IVFFlat index (None: it has none)."""
        row = self.conn.execute("SELECT reloptions FROM pg_class WHERE relname = 'qa_chunks_ivfflat'").fetchone()
        lists = [int(o.split("=")[1]) for o in (row[0] or []) if o.startswith("lists=")] if row else []
        return lists[0] if lists else None

    def _set_probes(self) -> None:
        """ivfflat.probes for this store's IVFFlat index: IVFFLAT_PROBED of its lists."""
        with self._lock:
            lists = self._ivfflat_lists()
            if lists:
                self.conn.execute(f"SET ivfflat.probes = {ivfflat_probes(lists)}")

    def dense_index(self) -> str:
        """The dense index in use: 'exact', 'hnsw' or 'ivfflat (lists L, probes P)'."""
        with self._lock:
            lists = self._ivfflat_lists()
            hnsw = self.conn.execute("SELECT to_regclass('qa_chunks_hnsw') IS NOT NULL").fetchone()[0]
        if lists:
            return f"ivfflat (lists {lists}, probes {ivfflat_probes(lists)})"
        return "hnsw" if hnsw else "exact"

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
            self._set_probes()
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
        rows = self._rows(
            "SELECT pos, -(embedding <#> %(v)s::vector) FROM qa_chunks "
            "ORDER BY embedding <#> %(v)s::vector LIMIT %(k)s",
            {"v": np.asarray(vector, np.float32), "k": k},
        )
        return sorted(((int(p), float(s)) for p, s in rows), key=lambda r: (-r[1], r[0]))

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = tokenize(query)
        if not terms or k <= 0:
            return []
        unique = sorted(set(terms))
        params = {
            "terms": terms,
            "k": k,
            "top": self.top_postings,
            "rescored": max(k, RESCORED),
            **{f"t{i}": term for i, term in enumerate(unique)},
        }
        rows = self._rows(_BM25.replace("{top_lists}", _top_lists(len(unique))), params)
        return [(int(p), float(s)) for p, s in rows if s > 0]

    def chunks_at(self, rows: list[int]) -> list[Chunk]:
        found = dict(self._rows("SELECT pos, data FROM qa_chunks WHERE pos = ANY(%s)", (list(rows),)))
        return [_chunk(found[r]) for r in rows]

    def vectors_at(self, rows: list[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self._dim or 0), np.float32)
        found = dict(self._rows("SELECT pos, embedding FROM qa_chunks WHERE pos = ANY(%s)", (list(rows),), binary=True))
        return np.stack([np.asarray(found[r].to_numpy(), np.float32) for r in rows])

    def unit(self, unit_id: str) -> Chunk | None:
        rows = self._rows(
            "SELECT data FROM qa_chunks WHERE id = %(i)s UNION ALL SELECT data FROM qa_sentences WHERE id = %(i)s",
            {"i": unit_id},
        )
        return _chunk(rows[0][0]) if rows else None

    def document(self, doc_id: str) -> Document | None:
        rows = self._rows("SELECT data FROM qa_docs WHERE id = %s", (doc_id,))
        return _document(rows[0][0]) if rows else None

    def document_ids(self) -> set[str]:
        return {r[0] for r in self._rows("SELECT id FROM qa_docs")}

    def staleness(self, cfg, embedder_fingerprint: str, hashes: dict[str, str]) -> str | None:
        """As the FAISS store's, except that articles added to the store by any process
        (``qa index --add``) count as part of it: only the corpus files must all be there."""
        m = self.manifest
        if not m:
            return f"the PostgreSQL store at {redact(self.uri)} is empty"
        if m.get("pg_layout") != LAYOUT:
            return f"the PostgreSQL store at {redact(self.uri)} was made by an older version of qa (table layout)"
        stored = m["docs"]
        return manifest_staleness(dict(m, docs={k: stored.get(k) for k in hashes}), cfg, embedder_fingerprint, hashes)

    # -- writes ---------------------------------------------------------------------------
    def reset(self, manifest: dict) -> None:
        dim = int(manifest["dim"])
        with self._lock, self.conn.transaction():
            self.conn.execute("DROP TABLE IF EXISTS " + ", ".join(_TABLES))
            for sql in _schema(dim):
                self.conn.execute(sql)
            self.conn.execute(
                "INSERT INTO qa_meta VALUES (1, %s, 0, 0, 0)",
                (json.dumps(dict(manifest, docs={}, chunks=0, sentences=0, pg_layout=LAYOUT)),),
            )
        self._dim = dim

    def rebuild(self, docs: list[Document], file_hashes: dict[str, str], embedder: Embedder, cfg: Config) -> int:
        """Empty the store, then add the articles one transaction each, in order (a build killed
        midway leaves a store that is stale, not inconsistent)."""
        self.reset(base_manifest(cfg, embedder.fingerprint, embedder.dim))
        embedded = 0
        for doc in docs:
            cache: dict = {}
            self.add_document(doc, *embed_article(doc, embedder, cfg, cache), file_hashes[doc.id])
            embedded += len(cache)
        return embedded

    def add_document(
        self,
        doc: Document,
        chunks: list[Chunk],
        chunk_vectors: np.ndarray,
        sentences: list[Chunk],
        sentence_vectors: np.ndarray,
        file_hash: str | None = None,
    ) -> None:
        self.add_documents([(doc, chunks, chunk_vectors, sentences, sentence_vectors, file_hash)])

    def add_documents(self, items: list[tuple]) -> None:
        """Several articles (add_document's arguments, one tuple each) in one transaction. The
        store's counters and term frequencies are written once at the end (a row updated once
        per article in one transaction leaves a chain of versions every later read walks: at
        10,000 articles that made the load quadratic). A large batch into an empty store loads
        the postings before indexing them, and builds the dense index once when it crosses
        hnsw_above (see IVFFLAT_ABOVE)."""
        import psycopg

        if self._dim is None:
            raise StoreError(f"the PostgreSQL store at {redact(self.uri)} is empty; build it with `qa index`")
        try:
            with self._lock, self.conn.transaction():
                meta = self.conn.execute("SELECT n_chunks, n_sentences, total_len FROM qa_meta FOR UPDATE").fetchone()
                counts = _Counts(*map(int, meta))
                bulk = counts.chunks == 0 and sum(len(item[1]) for item in items) >= self.bulk_above
                if bulk:
                    self.conn.execute("DROP INDEX qa_postings_impact")
                    self.conn.execute("ALTER TABLE qa_postings DROP CONSTRAINT qa_postings_pkey")
                for doc, chunks, chunk_vectors, sentences, sentence_vectors, file_hash in items:
                    self._claim(doc)
                    self._insert(doc, chunks, chunk_vectors, sentences, sentence_vectors, counts, file_hash)
                if bulk:
                    self.conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
                    self.conn.execute(_POSTINGS_PKEY)
                    self.conn.execute(_POSTINGS_IMPACT)
                    self.conn.execute("ANALYZE qa_postings")  # per-term statistics for _BM25's plans
                self._commit_counts(counts)
                if int(meta[0]) <= self.hnsw_above < counts.chunks:
                    self._create_dense_index(counts.chunks)
        except psycopg.errors.UniqueViolation as err:  # a concurrent writer added it first
            raise DuplicateError(f"this article is already indexed ({err.diag.message_detail})") from None

    def _commit_counts(self, counts: _Counts) -> None:
        self.conn.execute(
            "UPDATE qa_meta SET n_chunks = %s, total_len = %s, n_sentences = %s",
            (counts.chunks, counts.total_len, counts.sentences),
        )
        self.conn.execute(
            "INSERT INTO qa_terms (term, df) SELECT * FROM unnest(%s::text[], %s::int[]) "
            "ON CONFLICT (term) DO UPDATE SET df = qa_terms.df + excluded.df",
            (list(counts.df), list(counts.df.values())),
        )

    def _create_dense_index(self, rows: int) -> None:
        if rows <= self.ivfflat_above:
            self._create_hnsw(rows)
            return
        # k-means (Elkan's) on a sample of 50 rows a list, all in maintenance_work_mem: the sample
        # and two sets of centres, and a lower bound per sample and centre (pgvector's ivfbuild.c;
        # 348 MB at 1,000 lists of 768-d), then every row is assigned to its nearest list
        lists = ivfflat_lists(rows)
        self._build_memory(int((4 * (self._dim or 0) * 52 * lists + 4 * 51 * lists * lists) * 1.25 / 2**20) + 64)
        self.conn.execute(
            f"CREATE INDEX IF NOT EXISTS qa_chunks_ivfflat ON qa_chunks "
            f"USING ivfflat (embedding vector_ip_ops) WITH (lists = {lists})"
        )
        self.conn.execute(f"SET ivfflat.probes = {ivfflat_probes(lists)}")

    def _build_memory(self, need_mb: int) -> None:
        """maintenance_work_mem for this transaction's index build: what it needs, 256 MB to BUILD_MEMORY_MB."""
        self.conn.execute(f"SET LOCAL maintenance_work_mem = '{max(256, min(need_mb, BUILD_MEMORY_MB))}MB'")

    def _create_hnsw(self, rows: int) -> None:
        """pgvector builds the graph in memory while it fits in maintenance_work_mem and much more
        slowly on disk after that; its size is about the vectors plus HNSW_M * 2 neighbours of
        ~10 bytes each on the base layer (1M x 768: ~3.5 GB, over the 2 GB it had before).
        Capped at BUILD_MEMORY_MB (the server's memory is not known here)."""
        self._build_memory(int(rows * (4 * (self._dim or 0) + HNSW_M * 2 * 10 + 100) * 1.25 / 2**20))
        self.conn.execute(
            f"CREATE INDEX IF NOT EXISTS qa_chunks_hnsw ON qa_chunks USING hnsw (embedding vector_ip_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
        )

    def _claim(self, doc: Document) -> None:
        """Inside the add transaction (which holds qa_meta's row lock): refuse duplicates."""
        check_new_article(doc, *self.conn.execute(_KNOWN, _known(doc)).fetchone())

    def _insert(
        self,
        doc: Document,
        chunks: list[Chunk],
        chunk_vectors: np.ndarray,
        sentences: list[Chunk],
        sentence_vectors: np.ndarray,
        counts: _Counts,
        file_hash: str | None,
    ) -> None:
        cur = self.conn.cursor()
        cur.execute(
            "INSERT INTO qa_docs (id, sha256, text_key, data, file_hash) VALUES (%s, %s, %s, %s, %s)",
            (
                doc.id,
                doc.sha256,
                text_key(doc.text),
                json.dumps(asdict(doc), ensure_ascii=False),
                file_hash or doc.sha256,
            ),
        )
        _copy_chunks(cur, chunks, chunk_vectors, counts)
        # binary COPY: vectors as float32 bytes (formatting them as text took 0.7 ms per 768-d vector,
        # 12 minutes for 1M chunks; binary rows go 14x faster)
        with cur.copy("COPY qa_sentences (pos, id, doc_id, data, embedding) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "text", "text", "jsonb", "vector"])
            for i, (s, v) in enumerate(zip(sentences, sentence_vectors)):
                copy.write_row((counts.sentences + i, s.id, s.doc_id, asdict(s), np.asarray(v, np.float32)))
        counts.sentences += len(sentences)

    # -- the assistant's reads and its upload check (qa.store.Store), one query each ------------
    def unit_vectors(self, unit_ids: list[str]) -> np.ndarray:
        if not unit_ids:
            return np.zeros((0, self._dim or 0), np.float32)
        rows = self._rows(
            "SELECT id, embedding, 1 FROM qa_chunks WHERE id = ANY(%(i)s) UNION ALL "
            "SELECT id, embedding, 0 FROM qa_sentences WHERE id = ANY(%(i)s)",
            {"i": list(unit_ids)},
            binary=True,
        )
        found = {i: v for i, v, _ in sorted(rows, key=lambda r: r[2])}  # a chunk id wins, as in Index.unit
        return np.stack([np.asarray(found[i].to_numpy(), np.float32) for i in unit_ids])

    def context(self, unit_id: str) -> Chunk | None:
        rows = self._rows(_CONTEXT, {"i": unit_id})
        return _chunk(rows[0][0]) if rows else None

    def documents(self) -> list[DocumentInfo]:
        rows = self._rows(
            "SELECT d.id, d.data->>'title', d.data->>'date', d.data->>'lang', count(c.pos) "
            "FROM qa_docs d LEFT JOIN qa_chunks c ON c.doc_id = d.id "
            'GROUP BY d.id ORDER BY d.id COLLATE "C"'
        )
        return [DocumentInfo(i, t, d, lang, int(n)) for i, t, d, lang, n in rows]

    def sentences_of(self, doc_ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        rows = self._rows(
            "SELECT s.data, s.embedding FROM qa_sentences s "
            "JOIN unnest(%s::text[]) WITH ORDINALITY AS q(doc_id, n) USING (doc_id) ORDER BY q.n, s.pos",
            (list(dict.fromkeys(doc_ids)),),
            binary=True,
        )
        if not rows:
            return [], np.zeros((0, self._dim or 0), np.float32)
        return [_chunk(d) for d, _ in rows], np.stack([np.asarray(v.to_numpy(), np.float32) for _, v in rows])

    def check_new(self, doc: Document) -> None:
        rows = self._rows(_KNOWN, _known(doc))  # none: the store has no tables yet
        check_new_article(doc, *(rows[0] if rows else (None, False)))


# What check_new_article needs to know of an article: the id of the indexed article with the same
# text key (an equal text has an equal key: the sha256 column need not be compared), and whether
# its id is taken. Both are unique columns: two index probes.
_KNOWN = "SELECT (SELECT id FROM qa_docs WHERE text_key = %(t)s), EXISTS (SELECT 1 FROM qa_docs WHERE id = %(i)s)"


def _known(doc: Document) -> dict:
    return {"t": text_key(doc.text), "i": doc.id}


# The chunk holding a unit: the chunk itself, else the first chunk of its article around the
# sentence, else the sentence (as qa.store.faiss_store.FaissStore.context).
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


@dataclass
class _Counts:
    """The store's counters during an add transaction (written to qa_meta and qa_terms at its end)."""

    chunks: int
    sentences: int
    total_len: int
    df: Counter = field(default_factory=Counter)


def _copy_chunks(cur, chunks: list[Chunk], vectors: np.ndarray, counts: _Counts) -> None:
    """COPY the chunks and their postings, counting their lengths and terms into `counts`."""
    tokens = [doc_tokens(c.text) for c in chunks]
    lengths = [len(t) for t in tokens]
    first = counts.chunks
    counts.chunks += len(chunks)
    counts.total_len += sum(lengths)
    avgdl = counts.total_len / max(counts.chunks, 1)
    with cur.copy("COPY qa_chunks (pos, id, doc_id, len, data, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["bigint", "text", "text", "integer", "jsonb", "vector"])
        for i, (c, v) in enumerate(zip(chunks, vectors)):
            copy.write_row((first + i, c.id, c.doc_id, lengths[i], asdict(c), np.asarray(v, np.float32)))
    with cur.copy("COPY qa_postings (term, pos, tf, len, impact) FROM STDIN") as copy:
        for i, toks in enumerate(tokens):
            tfs = Counter(toks)
            counts.df.update(tfs.keys())
            for term, tf in tfs.items():
                copy.write_row((term, first + i, tf, lengths[i], impact(tf, lengths[i], avgdl)))


def _schema(dim: int) -> list[str]:
    return [
        "CREATE TABLE qa_meta (id int PRIMARY KEY CHECK (id = 1), manifest jsonb NOT NULL, "
        "n_chunks bigint NOT NULL, total_len bigint NOT NULL, n_sentences bigint NOT NULL)",
        "CREATE TABLE qa_docs (id text PRIMARY KEY, sha256 text NOT NULL UNIQUE, text_key text NOT NULL UNIQUE, "
        "data jsonb NOT NULL, file_hash text)",
        f"CREATE TABLE qa_chunks (pos bigint PRIMARY KEY, id text NOT NULL UNIQUE, "
        f"doc_id text NOT NULL REFERENCES qa_docs, len int NOT NULL, data jsonb NOT NULL, "
        f"embedding vector({dim}) NOT NULL)",
        f"CREATE TABLE qa_sentences (pos bigint PRIMARY KEY, id text NOT NULL UNIQUE, "
        f"doc_id text NOT NULL REFERENCES qa_docs, data jsonb NOT NULL, embedding vector({dim}) NOT NULL)",
        # one row per (term, chunk): tf, the chunk's token length and impact(), so that scoring
        # reads no other table. No foreign key to qa_chunks: both are written in the add
        # transaction, and a per-row check would cost the bulk load ~40 lookups per chunk.
        "CREATE TABLE qa_postings (term text NOT NULL, pos bigint NOT NULL, tf int NOT NULL, len int NOT NULL, "
        "impact real NOT NULL)",
        _POSTINGS_PKEY,
        _POSTINGS_IMPACT,
        # document frequency per term, kept by each add (writers are serialised on qa_meta)
        "CREATE TABLE qa_terms (term text PRIMARY KEY, df int NOT NULL)",
        # vectors in the row, not TOASTed: an exact scan then reads no second table (fits a page
        # up to ~1,900 dimensions)
        *(
            [f"ALTER TABLE {t} ALTER COLUMN embedding SET STORAGE PLAIN" for t in ("qa_chunks", "qa_sentences")]
            if dim <= 1900
            else []
        ),
        "CREATE INDEX qa_sentences_doc ON qa_sentences (doc_id, pos)",
        # an article's chunks (context(), documents()): without it each read scanned all chunks
        "CREATE INDEX qa_chunks_doc ON qa_chunks (doc_id, pos)",
    ]
