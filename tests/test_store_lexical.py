"""The PostgreSQL store's lexical search against bm25s (qa.store.lexical.LexicalIndex, what the FAISS
store uses), on a real server: exact while no query term has more postings than the store reads
per term (`top_postings`), and at the boundary, with a tiny `top_postings`, only the postings it
may read, each still scored exactly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import HashEmbedder, copy_seeds, tmp_config

from qa.store.base import StoreError
from qa.store.build import load_or_build_store
from qa.store.lexical import LexicalIndex
from qa.store.postgres import TOP_POSTINGS, PostgresStore
from qa.text.lexical import doc_tokens


@pytest.fixture
def seed_store(tmp_path: Path, pg_database):
    """The seed corpus in a PostgreSQL store, its chunk texts and their document frequencies."""
    copy_seeds(tmp_path / "seeds")
    cfg = tmp_config(tmp_path, store__engine="postgres", store__uri=pg_database())
    store = load_or_build_store(cfg, HashEmbedder(), log=lambda _: None)
    texts = [c.text for c in store.chunks_at(list(range(store.count())))]
    df = Counter(t for text in texts for t in set(doc_tokens(text)))
    return cfg.store.uri, texts, df


def test_scores_and_order_equal_bm25s_on_the_seed_corpus(seed_store):
    uri, texts, df = seed_store
    assert len(texts) < TOP_POSTINGS  # every posting list is read whole: the exact regime
    store, exact = PostgresStore(uri), LexicalIndex(texts)
    queries = [" ".join(t.split()[:8]) for t in texts[::7]] + ["Murati OpenAI", "Stadtwerke Lindenau"]
    for query in queries:
        got, want = store.lexical_search(query, 1000), exact.search(query, 1000)
        assert _same_up_to_ties(got, want), query
        assert got == sorted(got, key=lambda h: (-h[1], h[0]))  # best first, ties by ascending row


def _same_up_to_ties(got, want, tol: float = 1e-4) -> bool:
    """Same rows and scores; rows whose bm25s (float32) scores tie within `tol` in any order."""
    scores = dict(want)
    return (
        len(got) == len(want)
        and all(r in scores and abs(s - scores[r]) < tol for r, s in got)
        and all(abs(a - b) < tol for (_, a), (_, b) in zip(got, sorted(want, key=lambda h: -h[1])))
    )


def test_a_term_with_more_postings_than_top_postings_is_read_only_that_far(seed_store):
    uri, texts, df = seed_store
    n = 3
    at, over = (min((t for t, d in df.items() if d == size and t.isalpha()), default=None) for size in (n, n + 1))
    assert at and over, "the seed corpus has terms in exactly 3 and 4 chunks"
    tiny, exact = PostgresStore(uri, top_postings=n), LexicalIndex(texts)
    # at the boundary: every posting read, the same rows and scores as bm25s
    want = exact.search(at, 100)
    assert len(want) == n and _same_up_to_ties(tiny.lexical_search(at, 100), want)
    # one over it: n of the n + 1 chunks, each with its exact score
    scores = dict(exact.search(over, 100))
    got = tiny.lexical_search(over, 100)
    assert len(scores) == n + 1 and len(got) == n
    assert all(abs(s - scores[r]) < 1e-4 for r, s in got)
    # two terms: a chunk found through one term is scored with both (exact for what is returned)
    both = dict(exact.search(f"{at} {over}", 100))
    got = tiny.lexical_search(f"{at} {over}", 100)
    assert n <= len(got) <= 2 * n and all(abs(s - both[r]) < 1e-4 for r, s in got)
    assert len(PostgresStore(uri).lexical_search(over, 100)) == n + 1  # the default reads them all


def test_a_bulk_load_indexes_its_postings_after_loading_them_and_ranks_as_bm25s(tmp_path: Path, pg_database):
    """add_documents into an empty store, with bulk_above=1 so that the seed corpus takes the bulk
    path (indexes dropped, rows loaded, indexes and statistics made, in the one transaction)."""
    from qa.measure.bench_store import synthetic_corpus
    from qa.store.base import base_manifest

    syn = synthetic_corpus(300, 8, n_queries=10)
    store = PostgresStore(pg_database(), bulk_above=1)
    store.reset(base_manifest(tmp_config(tmp_path), "synthetic", 8))
    by_doc: dict = {}
    for i, c in enumerate(syn.chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    store.add_documents(
        [
            (d, [syn.chunks[i] for i in by_doc[d.id]], syn.vectors[by_doc[d.id]], [], syn.vectors[:0], None)
            for d in syn.docs
        ]
    )
    indexes = {r[0] for r in store.conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'qa_postings'")}
    assert indexes == {"qa_postings_pkey", "qa_postings_impact"}
    exact = LexicalIndex([c.text for c in syn.chunks])
    for query, _ in syn.queries:
        assert _same_up_to_ties(store.lexical_search(query, 1000), exact.search(query, 1000)), query


def test_top_postings_must_be_positive(seed_store):
    with pytest.raises(StoreError, match="top_postings"):
        PostgresStore(seed_store[0], top_postings=0)
