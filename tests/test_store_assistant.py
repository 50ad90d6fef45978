"""The assistant on either store (qa.store): what it reads of the articles (documents, sentence
units and vectors, the passage around a cited sentence) comes through the Store protocol, so the
FAISS files and PostgreSQL + pgvector (a real server, pgserver) must give the same answers.

Fast part: the tiny HashEmbedder, both engines, the protocol's read side and an upload through
the PostgreSQL store. Slow part (e2e): the seed corpus built into both stores with the real
embedder; the dev-split gold questions must retrieve the same passages and select the same
evidence sentences in both; one real answer is written through QA_STORE=postgres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ARTICLE_DE, HashEmbedder, copy_seeds, tmp_config

from qa.answering.assistant import Assistant
from qa.store.build import load_or_build_store
from qa.text.corpus import CorpusError, DuplicateError, make_document


def both_stores(root: Path, pg_database, embedder) -> tuple:
    """The seed corpus under `root` built into a FAISS store and a PostgreSQL store."""
    faiss = load_or_build_store(tmp_config(root), embedder, log=lambda _: None)
    pg = load_or_build_store(
        tmp_config(root, store__engine="postgres", store__uri=pg_database()), embedder, log=lambda _: None
    )
    return faiss, pg


@pytest.fixture
def stores(tmp_path: Path, pg_database):
    copy_seeds(tmp_path / "seeds")
    return both_stores(tmp_path, pg_database, HashEmbedder())


# -- the protocol's read side, both engines (fast) ----------------------------------------------


def test_documents_sentences_vectors_and_context_are_the_same_in_both_stores(stores):
    faiss, pg = stores
    infos = faiss.documents()
    assert infos == pg.documents() and len(infos) == 5
    assert sum(d.chunks for d in infos) == faiss.count() == pg.count()
    ids = [d.id for d in reversed(infos)]  # any order the caller asks for
    with pg.reading():
        units, vectors = pg.sentences_of(ids + ids[:1])  # a repeated article counts once
    expected, expected_vectors = faiss.sentences_of(ids)
    assert units == expected and [u.doc_id for u in units] == sorted((u.doc_id for u in units), key=ids.index)
    assert np.array_equal(vectors, expected_vectors)  # float32 in both, bit for bit
    for doc_id in ids:
        assert pg.document(doc_id) == faiss.document(doc_id)
    chunk_ids = [c.id for c in faiss.chunks_at(list(range(faiss.count())))]
    mixed = [units[3].id, chunk_ids[2], units[0].id]
    assert np.array_equal(pg.unit_vectors(mixed), faiss.unit_vectors(mixed))
    for unit in units:  # a sentence is shown inside the first chunk of its article holding it
        shown = pg.context(unit.id)
        assert shown == faiss.context(unit.id) and shown.start <= unit.start and unit.end <= shown.end
    assert pg.context(chunk_ids[1]) == faiss.context(chunk_ids[1]) == faiss.unit(chunk_ids[1])
    assert pg.context("nope#s0") is None and faiss.context("nope#s0") is None
    assert pg.document("nope") is None and pg.sentences_of(["nope"])[0] == []
    with pytest.raises(KeyError):
        pg.unit_vectors(["nope#s0"])


def test_both_stores_refuse_a_duplicate_or_a_taken_name_before_adding(stores):
    faiss, pg = stores
    seed = faiss.document(faiss.documents()[0].id)
    copy = make_document("copy", seed.text.replace("\n", "\r\n"), "")
    taken = make_document(seed.id, ARTICLE_DE, "")
    for store in (faiss, pg):
        with pytest.raises(DuplicateError, match=f"already indexed as {seed.id}"):
            store.check_new(copy)
        with pytest.raises(CorpusError, match="already indexed"):
            store.check_new(taken)
        store.check_new(make_document("new", ARTICLE_DE, ""))  # a new article passes


def test_an_upload_through_the_postgres_store_is_persisted_and_not_added_twice(tmp_path, pg_database):
    copy_seeds(tmp_path / "seeds")
    cfg = tmp_config(tmp_path, store__engine="postgres", store__uri=pg_database())
    assistant = Assistant(cfg, log=lambda _: None)
    assistant._embedder = HashEmbedder()  # the tiny embedder: this test is about storing
    before = assistant.store.document_ids()
    doc_id = assistant.add_document("lindenau.txt", ARTICLE_DE.encode("cp1252"))
    assert assistant.store.document_ids() == before | {doc_id}
    assert assistant.store.document(doc_id).text == ARTICLE_DE
    assert (cfg.paths.uploads_dir / f"{doc_id}.txt").read_text(encoding="utf-8") == ARTICLE_DE
    with pytest.raises(CorpusError, match=f"already indexed as {doc_id}"):
        assistant.add_document("again.md", ARTICLE_DE.encode("utf-16"))
    assert [p.name for p in cfg.paths.uploads_dir.iterdir()] == [f"{doc_id}.txt"]
    # another process on the same store: fresh (the upload file is in the corpus), nothing rebuilt
    messages: list[str] = []
    other = Assistant(cfg, log=messages.append)
    other._embedder = assistant.embedder
    assert doc_id in other.store.document_ids() and messages == []
    [info] = [d for d in other.store.documents() if d.id == doc_id]
    assert info.title.startswith("Lindenau") and info.chunks >= 1


# -- the real embedder: same retrieval and evidence in both stores (e2e) ------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory, built_root, pg_server):
    """An Assistant on the FAISS store (the session's built index) and one on a PostgreSQL store
    built from the same seeds with the same real embedder."""
    import shutil

    import psycopg

    root = tmp_path_factory.mktemp("pair")
    for name in ("seeds", "index"):
        shutil.copytree(built_root / name, root / name)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("CREATE DATABASE pair")
    faiss = Assistant(tmp_config(root), log=lambda _: None)
    pg = Assistant(
        tmp_config(root, store__engine="postgres", store__uri=pg_server.replace("/postgres?", "/pair?", 1)),
        log=lambda _: None,
    )
    pg._embedder = faiss.embedder  # one real embedder, loaded once
    yield faiss, pg
    pg.store.close()


def dev_questions() -> list[tuple[str, list[dict]]]:
    """The dev split of the gold set: (question, history) with a follow-up after its question."""
    from qa.measure.gold import GOLD_FILE, load_gold, select

    items = select(load_gold(GOLD_FILE), "dev")
    asked = {it["id"]: it["question"] for it in items}
    return [
        (it["question"], [{"role": "user", "content": asked[it["follows"]]}] if it.get("follows") in asked else [])
        for it in items
    ]


def ranks(passages) -> list[tuple[str, float]]:
    return [(p.chunk.id, p.score) for p in passages]


@pytest.mark.e2e
def test_same_retrieval_and_evidence_in_both_stores_on_the_dev_questions(pair):
    faiss, pg = pair
    assert pg.store.count() == faiss.store.count() and pg.store.documents() == faiss.store.documents()
    questions = dev_questions()
    assert len(questions) >= 40
    for question, history in questions:
        a, b = faiss.select_evidence(question, history), pg.select_evidence(question, history)
        where = f"{question!r} (history {history})"
        assert [c for c, _ in ranks(b.retrieved)] == [c for c, _ in ranks(a.retrieved)], where
        assert np.allclose([s for _, s in ranks(b.retrieved)], [s for _, s in ranks(a.retrieved)]), where
        assert [p.chunk for p in b.given] == [p.chunk for p in a.given], where
        assert np.allclose([p.score for p in b.given], [p.score for p in a.given], atol=1e-5), where
        assert (b.best and b.best.chunk) == (a.best and a.best.chunk) and b.relevance == pytest.approx(
            a.relevance, abs=1e-5
        )


@pytest.mark.e2e
def test_a_real_answer_through_the_postgres_store_cites_sentences_in_it(pair):
    import ui

    _, pg = pair
    answer = pg.answer("Why did John Schulman leave OpenAI?")
    assert not answer.abstained and answer.citations and "Anthropic" in answer.text, answer.notes
    store = pg.store
    for c in answer.citations:
        unit = store.unit(c.chunk_id)
        assert unit is not None and unit.doc_id == c.doc_id, c
        assert store.document(c.doc_id).text[c.start : c.end] == c.quote
        shown = store.context(c.chunk_id)
        assert shown.start <= c.start and c.end <= shown.end
    html = ui.sources_html(answer, store, turn=1)
    assert "<mark>" in html and all(f'id="src-1-{c.n}"' in html for c in answer.citations)
