"""`qa bench --stores`: the FAISS store beside the PostgreSQL store on a synthetic corpus.

Synthetic on purpose (nothing embedded, no corpus text): ``chunks`` unit vectors of the
embedder's dimension and chunk texts of ~40 synthetic tokens drawn from a Zipf vocabulary (so
BM25 meets both rare and very common terms). The vectors are drawn around CENTRES random
centres (each a centre plus Gaussian noise of the centre's length, normalised: cosine ~0.7 to
its centre, ~0.5 between two vectors of one centre, ~0 across centres), as real embeddings
gather by topic; until generator 2 they were uniform random unit vectors, which have no
structure at all: the worst case for an inverted-file index (IVFFlat) and unlike any embedder.
The dense recall is still measured against exact inner product over all vectors, so a clustered
corpus makes the approximate indexes' task realistic, not their recall figure easier to reach by
construction. Measured per store:

- ``build_s``: loading all chunks (FAISS: Index construction = FAISS + bm25s, then save; Postgres:
  one transaction of COPYs, the postings indexed, the dense index above HNSW_ABOVE chunks (HNSW,
  IVFFlat above qa.store.postgres.IVFFLAT_ABOVE), then
  the VACUUM autovacuum would soon run, which lets the postings be read index-only).
- ``retrieval_ms_p50/p95``: ``Retriever.search`` (dense + lexical + fusion + diversification)
  with a given query vector (a stored vector plus noise) and a 3-token query from the texts,
  on the second pass over the queries (warm); ``retrieval_cold_ms_p50/p95``: the first pass,
  which may read the store's pages from disk (at 1M chunks the PostgreSQL database is ~11 GB).
- ``dense_ms_p50`` / ``lexical_ms_p50``: the two searches alone (k = dense_k, lexical_k).
- ``dense_recall_at_10``: the store's dense top 10 against exact inner product (numpy) over all
  vectors; ``lexical_recall_at_k``: the share of its lexical top lexical_k whose exact BM25 score
  reaches bm25s's k-th best (ties at the cut count as found). Both averaged over the queries.
- memory: FAISS: resident memory added to this process by the loaded index; Postgres: the size
  of the database on disk and the server processes' unique resident memory after the queries.

Postgres is a private pgserver in a temporary folder (kept in ``--pg-dir`` if given) unless
``--store-uri`` names one. With ``--reuse``, a store already holding the same synthetic corpus
(size, seed, generator, table layout) is measured without loading it again, and reports the
build time recorded when it was loaded: for re-measuring latency on a quiet machine.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answering.retrieve import Retriever
from qa.config import Config, load_config
from qa.measure.system import cpu_name, current_rss_mb
from qa.models.weights import resolve
from qa.store.base import base_manifest
from qa.store.faiss_index import Index
from qa.store.faiss_store import FaissStore
from qa.store.lexical import LexicalIndex
from qa.store.postgres import LAYOUT, PostgresStore, redact
from qa.types import Chunk, Document

CHUNKS_PER_DOC = 100
VOCABULARY = 50_000
CENTRES = 2_000
GENERATOR = 2  # the synthetic corpus's version (recorded in the store, checked by --reuse)


@dataclass
class Synthetic:
    docs: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    queries: list[tuple[str, np.ndarray]]
    spec: dict  # what makes it (size, dimension, seed, queries, GENERATOR): equal specs, equal corpora


def synthetic_corpus(n: int, dim: int, n_queries: int = 50, seed: int = 0) -> Synthetic:
    rng = np.random.default_rng(seed)
    vectors = clustered_vectors(rng, n, dim)
    ranks = np.minimum(rng.zipf(1.2, size=(n, 40)), VOCABULARY)
    texts = [" ".join(f"w{r}" for r in row) for row in ranks]
    docs, chunks = [], []
    for start in range(0, n, CHUNKS_PER_DOC):
        doc_id = f"syn{start // CHUNKS_PER_DOC:06d}"
        docs.append(
            Document(
                id=doc_id, path="synthetic", text=doc_id, lang="en", title=doc_id, date=None, spans=(), sha256=doc_id
            )
        )
        chunks += [
            Chunk(id=f"{doc_id}#{j - start}", doc_id=doc_id, lang="en", text=texts[j], start=0, end=0, sentences=())
            for j in range(start, min(n, start + CHUNKS_PER_DOC))
        ]
    picks = rng.integers(0, n, n_queries)
    queries = []
    for i in picks:
        qv = vectors[i] + rng.standard_normal(dim).astype(np.float32) * 0.05
        queries.append((" ".join(texts[i].split()[:3]), qv / np.linalg.norm(qv)))
    spec = {"chunks": n, "dim": dim, "seed": seed, "queries": n_queries, "generator": GENERATOR}
    return Synthetic(docs, chunks, vectors, queries, spec)


def clustered_vectors(rng: np.random.Generator, n: int, dim: int, block: int = 100_000) -> np.ndarray:
    """n unit vectors, each a random one of CENTRES unit centres plus noise of norm ~1, normalised
    (made in blocks: at 1M x 768 the noise alone is 3 GB)."""
    centres = rng.standard_normal((CENTRES, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.empty((n, dim), np.float32)
    for start in range(0, n, block):
        rows = min(block, n - start)
        part = centres[rng.integers(0, CENTRES, rows)]
        part += rng.standard_normal((rows, dim), dtype=np.float32) / np.sqrt(dim, dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        vectors[start : start + rows] = part
    return vectors


def retrieval_ms(store, cfg: Config, queries: list[tuple[str, np.ndarray]]) -> dict:
    """p50/p95 of Retriever.search over the queries, run twice: the first pass ("cold": the pages
    each query needs may be read from disk, as after a server restart) and the second ("warm":
    the store's pages in memory, the steady state of a server whose data fit in its RAM)."""
    retriever = Retriever(store, None, cfg.retrieval)
    retriever.search(queries[0][0], vector=queries[0][1])  # warm: first-query costs (caches, plans) are not retrieval
    passes = []
    for _ in range(2):
        times = []
        for text, qv in queries:
            started = time.perf_counter()
            retriever.search(text, vector=qv)
            times.append((time.perf_counter() - started) * 1000)
        passes.append(times)
    return {
        "retrieval_ms_p50": float(np.percentile(passes[1], 50)),
        "retrieval_ms_p95": float(np.percentile(passes[1], 95)),
        "retrieval_cold_ms_p50": float(np.percentile(passes[0], 50)),
        "retrieval_cold_ms_p95": float(np.percentile(passes[0], 95)),
    }


@dataclass
class Truth:
    """Exact answers per query: dense top 10 (rows) and bm25s's lexical top lexical_k."""

    dense: list[set[int]]
    lexical: list[list[tuple[int, float]]]


def ground_truth(syn: Synthetic, cfg: Config) -> Truth:
    dense = []
    for _, qv in syn.queries:
        scores = syn.vectors @ qv
        dense.append({int(i) for i in np.argpartition(-scores, 10)[:10]})
    lexical = LexicalIndex([c.text for c in syn.chunks])
    return Truth(dense, [lexical.search(text, cfg.retrieval.lexical_k) for text, _ in syn.queries])


def quality(store, cfg: Config, syn: Synthetic, truth: Truth) -> dict:
    """Per-search latency and recall against the exact answers (see the module docstring)."""
    dense_ms, lexical_ms, dense_recall, lexical_recall = [], [], [], []
    for (text, qv), exact_dense, exact_lex in zip(syn.queries, truth.dense, truth.lexical):
        with store.reading():
            started = time.perf_counter()
            dense = store.dense_search(qv, cfg.retrieval.dense_k)
            middle = time.perf_counter()
            lexical = store.lexical_search(text, cfg.retrieval.lexical_k)
            lexical_ms.append((time.perf_counter() - middle) * 1000)
        dense_ms.append((middle - started) * 1000)
        dense_recall.append(len({r for r, _ in dense[:10]} & exact_dense) / 10)
        if exact_lex:
            cut = exact_lex[-1][1] - 1e-4  # float32 (bm25s) against float64 (SQL)
            lexical_recall.append(sum(s >= cut for _, s in lexical[: len(exact_lex)]) / len(exact_lex))
    return {
        "dense_ms_p50": float(np.percentile(dense_ms, 50)),
        "lexical_ms_p50": float(np.percentile(lexical_ms, 50)),
        "lexical_ms_p95": float(np.percentile(lexical_ms, 95)),
        "dense_recall_at_10": float(np.mean(dense_recall)),
        "lexical_recall_at_k": float(np.mean(lexical_recall)),
    }


def bench_faiss(syn: Synthetic, cfg: Config, dim: int, folder: Path) -> dict:
    before = current_rss_mb()
    started = time.perf_counter()
    index = Index(
        syn.docs,
        syn.chunks,
        syn.vectors.copy(),
        base_manifest(cfg, "synthetic", dim),
        sentences=[],
        sentence_vectors=np.zeros((0, dim), np.float32),
    )
    index.save(folder)
    build_s = time.perf_counter() - started
    store = FaissStore.over(index)
    latency = retrieval_ms(store, cfg, syn.queries)
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {
        "store": "faiss",
        "build_s": build_s,
        **latency,
        "memory_mb": current_rss_mb() - before,
        "disk_mb": disk / 2**20,
        "dense": type(index.dense).__name__,
        "index": store,
    }


def bench_postgres(syn: Synthetic, cfg: Config, dim: int, uri: str, reuse: bool = False, log=print) -> dict:
    """Load the corpus into the store at `uri` (emptied first) and time retrieval; with `reuse`, a
    store that already holds this synthetic corpus (same size, seed, generator, table layout) is
    measured as it is, and the build time reported is the one recorded when it was loaded."""
    store = PostgresStore(uri)
    stored = store.manifest.get("synthetic") if reuse and store.count() == len(syn.chunks) else None
    if stored and stored.get("corpus") == syn.spec and store.manifest.get("pg_layout") == LAYOUT:
        log(f"  postgres: reusing the {len(syn.chunks):,} chunks loaded at {redact(uri)}")
        build_s, reused = float(stored["build_s"]), True
    else:
        build_s, reused = load_postgres(store, syn, cfg, dim), False
    latency = retrieval_ms(store, cfg, syn.queries)
    size = store.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {
        "store": "postgres",
        "build_s": build_s,
        "reused": reused,
        **latency,
        "memory_mb": server_uss_mb(store),
        "disk_mb": size / 2**20,
        "dense": store.dense_index(),
        "index": store,
    }


def load_postgres(store, syn: Synthetic, cfg: Config, dim: int) -> float:
    """Empty the store, load the corpus in one add, VACUUM; the seconds it took (also recorded in
    the store's manifest, for --reuse)."""
    store.reset(dict(base_manifest(cfg, "synthetic", dim), synthetic={"corpus": syn.spec}))
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(syn.chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    items = [
        (d, [syn.chunks[i] for i in by_doc[d.id]], syn.vectors[by_doc[d.id]], [], np.zeros((0, dim), np.float32), None)
        for d in syn.docs
    ]
    started = time.perf_counter()
    store.add_documents(items)
    store.conn.execute("VACUUM (ANALYZE) qa_postings, qa_chunks")  # what autovacuum does after a load
    build_s = time.perf_counter() - started
    store.conn.execute(
        "UPDATE qa_meta SET manifest = jsonb_set(manifest, '{synthetic,build_s}', to_jsonb(%s::float8))", (build_s,)
    )
    return build_s


def server_uss_mb(store) -> float | None:
    """Unique resident memory of the PostgreSQL server processes (when they run on this machine)."""
    import psutil  # lazily: an optional dependency (pgserver's), needed for this reading only

    pid = store.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        master = psutil.Process(pid).parent()
        procs = [master, *master.children()]
        return sum(p.memory_full_info().uss for p in procs) / 2**20
    except (psutil.Error, AttributeError):
        return None


def run(
    chunks: int,
    dim: int,
    uri: str | None,
    cfg: Config,
    log=print,
    stores=("faiss", "postgres"),
    reuse: bool = False,
    pg_dir: Path | None = None,
) -> list[dict]:
    """Measure `stores`; Postgres at `uri`, else a private pgserver in `pg_dir` (kept, with its
    data, for --reuse) or in a temporary folder."""
    syn = synthetic_corpus(chunks, dim)
    log(f"stores: {chunks:,} synthetic chunks, dimension {dim}")
    truth = ground_truth(syn, cfg)
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-stores-"))
    server = None
    try:
        results = []
        if "faiss" in stores:
            results.append(bench_faiss(syn, cfg, dim, tmp / "index"))
        if "postgres" in stores:
            if uri is None:
                import pgserver  # lazily: a test dependency, needed only without --store-uri

                server = pgserver.get_server(str(pg_dir or tmp / "pg"), cleanup_mode="stop")
                uri = server.get_uri()
            results.append(bench_postgres(syn, cfg, dim, uri, reuse, log))
        for r in results:
            r.update(quality(r.pop("index"), cfg, syn, truth))
            log(f"  {r['store']}: {r}")
        return results
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def format_table(results: list[dict], chunks: int, cpu: str) -> str:
    lines = [
        f"stores at {chunks:,} synthetic chunks ({cpu})",
        f"{'store':<10}{'dense':<33}{'build s':>9}{'p50 ms':>9}{'p95 ms':>9}{'cold p50':>9}{'dense ms':>10}"
        f"{'lex ms':>8}{'lex p95':>9}{'dense R@10':>11}{'lex R@k':>9}{'memory MB':>11}{'disk MB':>9}",
    ]
    for r in results:
        mem = f"{r['memory_mb']:.0f}" if r["memory_mb"] is not None else "-"
        lines.append(
            f"{r['store']:<10}{r['dense']:<33}{r['build_s']:>9.1f}{r['retrieval_ms_p50']:>9.1f}"
            f"{r['retrieval_ms_p95']:>9.1f}{r['retrieval_cold_ms_p50']:>9.1f}{r['dense_ms_p50']:>10.1f}{r['lexical_ms_p50']:>8.1f}"
            f"{r['lexical_ms_p95']:>9.1f}{r['dense_recall_at_10']:>11.3f}{r['lexical_recall_at_k']:>9.3f}"
            f"{mem:>11}{r['disk_mb']:>9.0f}"
        )
    return "\n".join(lines)


def main(
    chunks: int,
    uri: str | None,
    json_path: Path,
    stores=("faiss", "postgres"),
    reuse: bool = False,
    pg_dir: Path | None = None,
) -> int:
    cfg = load_config()
    dim = embedder_dim(cfg)
    results = run(chunks, dim, uri, cfg, stores=stores, reuse=reuse, pg_dir=pg_dir)
    cpu = cpu_name()
    print(format_table(results, chunks, cpu))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"chunks": chunks, "dim": dim, "cpu": cpu, "stores": results}, indent=1) + "\n")
    print(f"\nwritten to {json_path}")
    return 0


def embedder_dim(cfg: Config) -> int:
    """The configured embedder's dimension, read from its files (the model is not loaded); 768
    (EmbeddingGemma) when it cannot be read."""
    try:
        folder = Path(resolve(cfg.embedder.model, cfg.paths.models_dir))
        config = json.loads(next(folder.rglob("config.json")).read_text())
        return int(config["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return 768
