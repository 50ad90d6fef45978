"""One contract for both stores (qa.store): the FAISS files and PostgreSQL + pgvector, the latter a
real server (pgserver: PostgreSQL with pgvector, started here in a temporary folder). The
embedder is the tiny deterministic HashEmbedder: the contract is about storing and ranking, and
both stores must rank the same vectors and texts the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ARTICLE_DE, ROOT, HashEmbedder, copy_seeds, tmp_config

from qa.answering.retrieve import Retriever
from qa.store.base import StoreError
from qa.store.build import ArticleWriter, load_or_build_store, open_store
from qa.store.embedding import add_article
from qa.store.ingest import ingest
from qa.text.corpus import DuplicateError, corpus_dirs, corpus_hashes, make_document

STORES = ["faiss", "postgres"]


def article(n: int) -> str:
    return (
        f"Report number {n} from Lindenau\n\n"
        f"The Lindenau works opened plant {n} with {n * 7} modules on day {n}. "
        f"Director Hanna Vogt said plant {n} supplies {n * 13} homes.\n"
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy_seeds(tmp_path / "seeds")
    return tmp_path


def config(store: str, root: Path, pg_database, **overrides):
    uri = pg_database() if store == "postgres" else None
    return tmp_config(root, store__engine=store, store__uri=uri, **overrides)


def built(store: str, root: Path, pg_database, embedder=None):
    cfg = config(store, root, pg_database)
    return load_or_build_store(cfg, embedder or HashEmbedder(), log=lambda _: None), cfg


def queries(store) -> list[str]:
    """Queries made of the store's own chunk texts (every script of the corpus), plus a miss."""
    texts = [c.text for c in store.chunks_at(list(range(0, store.count(), 17)))]
    return [" ".join(t.split()[:6]) for t in texts] + ["a query with no word of any article xyzzy"]


@pytest.mark.parametrize("kind", STORES)
def test_build_get_and_search(kind: str, root: Path, pg_database):
    store, cfg = built(kind, root, pg_database)
    assert store.count() > 100
    chunk = store.chunks_at([5])[0]
    assert store.unit(chunk.id) == chunk and store.unit("no-such-unit") is None
    sentences = store.sentences_of([chunk.doc_id])[0]
    assert sentences and all(s.doc_id == chunk.doc_id for s in sentences)
    assert store.unit(sentences[0].id) == sentences[0]
    vec = store.vectors_at([5])[0]
    assert store.dense_search(vec, 3)[0] == (5, pytest.approx(1.0, abs=1e-5))
    hits = store.lexical_search(chunk.text, 5)
    assert hits and hits[0][0] == 5 and all(s > 0 for _, s in hits)
    assert store.lexical_search("xyzzy", 5) == []
    assert store.staleness(cfg, HashEmbedder().fingerprint, corpus_hashes(corpus_dirs(cfg))) is None


def test_both_stores_rank_alike(root: Path, pg_database):
    faiss, cfg = built("faiss", root, pg_database)
    pg, _ = built("postgres", root, pg_database)
    assert pg.count() == faiss.count()
    assert pg.chunks_at(list(range(pg.count()))) == faiss.chunks_at(list(range(faiss.count())))
    embedder = HashEmbedder()
    for query in queries(faiss):
        qv = embedder.embed_queries([query])[0]
        same_ranking(pg.dense_search(qv, 20), faiss.dense_search(qv, 20), 1e-5)
        same_ranking(pg.lexical_search(query, 10_000), faiss.lexical_search(query, 10_000), 1e-4)
        ids = [[p.chunk.id for p in Retriever(s, embedder, cfg.retrieval).search(query)] for s in (pg, faiss)]
        assert ids[0] == ids[1], query


def same_ranking(a: list[tuple[int, float]], b: list[tuple[int, float]], tol: float):
    """Same rows with the same scores in the same order, except that rows whose scores differ by
    less than `tol` (ties; float32 vs float64 arithmetic) may come in either order."""
    assert len(a) == len(b)
    assert np.allclose([s for _, s in a], [s for _, s in b], atol=tol, rtol=1e-5)
    for (ra, sa), (rb, sb) in zip(a, b):
        if ra != rb:
            tied = {r for r, s in b if abs(s - sa) < tol}
            assert ra in tied and rb in {r for r, s in a if abs(s - sb) < tol}


@pytest.mark.parametrize("kind", STORES)
def test_incremental_add_and_duplicates(kind: str, root: Path, pg_database):
    store, cfg = built(kind, root, pg_database)
    before, embedder = store.count(), HashEmbedder()
    add_article(store, make_document("upload_solar", ARTICLE_DE), embedder, cfg)
    assert store.count() > before and "upload_solar" in store.document_ids()
    query = "Wie viele Module hat der Solarpark in Lindenau?"
    hits = Retriever(store, embedder, cfg.retrieval).search(query, k=3)
    assert any(p.doc_id == "upload_solar" for p in hits)
    added = store.count()
    with pytest.raises(DuplicateError, match="already indexed as upload_solar"):
        add_article(store, make_document("upload_again", ARTICLE_DE.replace("\n", "\r\n")), embedder, cfg)
    assert store.count() == added and "upload_again" not in store.document_ids()
    reopened = open_store(cfg)  # another process's view
    assert reopened.count() == store.count() and "upload_solar" in reopened.document_ids()


@pytest.mark.parametrize("kind", STORES)
def test_staleness(kind: str, root: Path, pg_database):
    store, cfg = built(kind, root, pg_database)
    hashes = corpus_hashes(corpus_dirs(cfg))
    assert "another embedding model" in store.staleness(cfg, "some-other-model", hashes)
    changed = cfg.with_(chunk_max_chars=cfg.store.chunk_max_chars + 1)
    assert "chunker" in store.staleness(changed, HashEmbedder().fingerprint, hashes)
    first = sorted(cfg.paths.seeds_dir.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert "corpus changed" in store.staleness(cfg, HashEmbedder().fingerprint, corpus_hashes(corpus_dirs(cfg)))
    rebuilt = load_or_build_store(cfg, HashEmbedder(), log=lambda _: None)  # rebuilt, then fresh
    assert rebuilt.staleness(cfg, HashEmbedder().fingerprint, corpus_hashes(corpus_dirs(cfg))) is None


def test_unreachable_postgres_is_a_clear_message(root: Path):
    cfg = tmp_config(root, store__engine="postgres", store__uri="postgresql://qa:secret@127.0.0.1:1/qa")
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:1/qa.*QA_STORE_URI") as err:
        open_store(cfg)
    assert "secret" not in str(err.value)
    with pytest.raises(StoreError, match="QA_STORE_URI"):
        open_store(tmp_config(root, store__engine="postgres"))
    with pytest.raises(StoreError, match="unknown store"):
        open_store(tmp_config(root, store__engine="sqlite"))


# The writer adds the folder, then goes on adding articles of its own until it is killed, so
# the kill always lands while it writes, wherever the machine's speed puts it (a writer that
# stopped after the folder could finish between two polls: CI once saw it exit before the kill).
WRITER = """
import itertools, sys
sys.path[:0] = [{root!r}, {tests!r}]
from pathlib import Path
from conftest import HashEmbedder, tmp_config
from qa.store.build import ArticleWriter, open_store
from qa.store.ingest import ingest
cfg = tmp_config(Path({base!r}), store__engine={kind!r}, store__uri={uri!r})
writer = ArticleWriter(open_store(cfg), HashEmbedder(), cfg)
ingest(writer.add, Path({folder!r}), progress=False)
for i in itertools.count():
    writer.add(f"extra_{{i}}.txt", ({extra!r} + str(i)).encode())
"""


@pytest.mark.parametrize("kind", STORES)
def test_a_killed_writer_leaves_the_store_consistent_and_resumable(kind: str, root: Path, pg_database):
    store, cfg = built(kind, root, pg_database)
    folder, n = root / "incoming", 16
    folder.mkdir()
    for i in range(n):
        (folder / f"report_{i:03d}.txt").write_text(article(100 + i), encoding="utf-8")
    base_docs = len(store.document_ids())
    script = WRITER.format(
        root=str(ROOT),
        tests=str(ROOT / "tests"),
        base=str(root),
        kind=kind,
        uri=cfg.store.uri,
        folder=str(folder),
        extra=article(999),
    )
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if len(open_store(cfg).document_ids()) >= base_docs + 4:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    else:
        # the writer never stops by itself: without this a writer that stalls would hang the run
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            pytest.fail("the writer added fewer than 4 articles in 120 s")
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the writer stopped before it was killed"
    assert_consistent(open_store(cfg))
    report = ingest(ArticleWriter(open_store(cfg), HashEmbedder(), cfg).add, folder, progress=False)  # resume
    assert not report.errors and len(report.added) + len(report.duplicates) == n
    after = open_store(cfg)
    assert_consistent(after)
    assert len([d for d in after.document_ids() if d.startswith("upload_report_")]) == n


def assert_consistent(store) -> None:
    """Every article has its chunks and sentences, every chunk row is there once."""
    rows = list(range(store.count()))
    chunks = store.chunks_at(rows)
    assert len({c.id for c in chunks}) == len(rows)
    assert {c.doc_id for c in chunks} == store.document_ids()
    assert all(store.sentences_of([d])[0] for d in store.document_ids())
    assert store.vectors_at(rows).shape[0] == len(rows)
