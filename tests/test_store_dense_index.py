"""The PostgreSQL store's dense index choice and `qa bench --stores --reuse`, at small sizes on a
real server (pgserver): the thresholds (HNSW_ABOVE, IVFFLAT_ABOVE) are constructor arguments so
that a few hundred synthetic chunks take the paths a million take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import tmp_config

from qa.measure.bench_store import format_table, run, synthetic_corpus
from qa.store.base import base_manifest
from qa.store.postgres import PostgresStore, ivfflat_lists, ivfflat_probes

DIM = 16


def items(syn, docs):
    by_doc: dict = {}
    for i, c in enumerate(syn.chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    return [
        (d, [syn.chunks[i] for i in by_doc[d.id]], syn.vectors[by_doc[d.id]], [], syn.vectors[:0], None) for d in docs
    ]


def new_store(tmp_path: Path, uri: str, **thresholds) -> PostgresStore:
    store = PostgresStore(uri, **thresholds)
    store.reset(base_manifest(tmp_config(tmp_path), "synthetic", DIM))
    return store


def test_a_bulk_load_over_ivfflat_above_gets_ivfflat_and_every_reader_probes_it(tmp_path: Path, pg_database):
    syn = synthetic_corpus(1000, DIM, n_queries=10)
    uri = pg_database()
    store = new_store(tmp_path, uri, bulk_above=1, hnsw_above=100, ivfflat_above=500)
    assert store.dense_index() == "exact"
    store.add_documents(items(syn, syn.docs))
    lists = ivfflat_lists(1000)
    assert store.dense_index() == f"ivfflat (lists {lists}, probes {ivfflat_probes(lists)})"
    reader = PostgresStore(uri)  # a new connection sets the probes from the index
    assert reader.conn.execute("SHOW ivfflat.probes").fetchone()[0] == str(ivfflat_probes(lists))
    plan = "\n".join(
        r[0]
        for r in reader.conn.execute(
            "EXPLAIN SELECT pos FROM qa_chunks ORDER BY embedding <#> %s::vector LIMIT 5", (syn.vectors[0],)
        )
    )
    assert "qa_chunks_ivfflat" in plan
    for i in (0, 500, 999):  # a stored vector finds itself
        assert reader.dense_search(syn.vectors[i], 5)[0][0] == i


def test_adds_crossing_hnsw_above_get_hnsw_and_keep_it_past_ivfflat_above(tmp_path: Path, pg_database):
    syn = synthetic_corpus(1000, DIM, n_queries=10)
    store = new_store(tmp_path, pg_database(), hnsw_above=150, ivfflat_above=500)
    store.add_documents(items(syn, syn.docs[:1]))
    assert store.dense_index() == "exact"
    store.add_documents(items(syn, syn.docs[1:3]))
    assert store.dense_index() == "hnsw"
    store.add_documents(items(syn, syn.docs[3:]))  # 1,000 chunks: the graph is kept, row by row
    assert store.dense_index() == "hnsw" and store.count() == 1000
    exact = np.argsort(-(syn.vectors @ syn.vectors[900]))[:5]
    assert [r for r, _ in store.dense_search(syn.vectors[900], 5)] == exact.tolist()


def test_chunks_are_indexed_by_article(tmp_path: Path, pg_database):
    store = new_store(tmp_path, pg_database())
    columns = store.conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'qa_chunks_doc'").fetchone()
    assert columns and "(doc_id, pos)" in columns[0]


def test_bench_reuse_measures_a_loaded_store_without_loading_it_again(tmp_path: Path, pg_database):
    uri, cfg = pg_database(), tmp_config(tmp_path)
    first = run(300, DIM, uri, cfg, log=lambda _: None, stores=("postgres",), reuse=True)[0]
    assert not first["reused"] and first["dense_recall_at_10"] == 1.0 and first["lexical_recall_at_k"] > 0.9
    again = run(300, DIM, uri, cfg, log=lambda _: None, stores=("postgres",), reuse=True)[0]
    assert again["reused"] and again["build_s"] == first["build_s"]
    assert again["retrieval_cold_ms_p50"] > 0 and again["retrieval_ms_p50"] > 0
    assert "postgres  exact" in format_table([again], 300, "cpu")
    assert again["dense_recall_at_10"] == 1.0 and again["lexical_recall_at_k"] == first["lexical_recall_at_k"]
    other = run(400, DIM, uri, cfg, log=lambda _: None, stores=("postgres",), reuse=True)[0]
    assert not other["reused"]  # another corpus: loaded
    fresh = run(400, DIM, uri, cfg, log=lambda _: None, stores=("postgres",))[0]
    assert not fresh["reused"]  # without --reuse: always loaded


def test_bench_keeps_its_pgserver_in_pg_dir_for_reuse(tmp_path: Path):
    cfg, folder = tmp_config(tmp_path), tmp_path / "pg"
    first = run(200, DIM, None, cfg, log=lambda _: None, stores=("postgres",), reuse=True, pg_dir=folder)[0]
    again = run(200, DIM, None, cfg, log=lambda _: None, stores=("postgres",), reuse=True, pg_dir=folder)[0]
    assert not first["reused"] and again["reused"] and (folder / "PG_VERSION").exists()
