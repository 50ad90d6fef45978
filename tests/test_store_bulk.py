"""Bulk ingestion at scale on the PostgreSQL store: `qa index --add` over 1,000 small synthetic
articles, the writer killed with SIGKILL midway, the command run again: no article lost, no chunk
indexed twice. The embedder is the test-only `test-hash` (QA_EMBED_MODEL) so the test measures
the store's bookkeeping in well under a minute; the real embedder would take ~1 s an article on
this machine. (The FAISS store's killed-ingestion test is tests/test_ingest.py, at 24 articles:
each FAISS add rewrites a whole generation, so 1,000 adds there cost minutes.)"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, HashEmbedder, copy_seeds, tmp_config

from qa.store.build import load_or_build_store, open_store
from qa.text.chunking import chunk_document
from qa.text.corpus import make_document

pytestmark = (
    pytest.mark.slow
)  # 1,000 articles added, killed and resumed: 14 s on a quiet machine, minutes on a busy one

N = 1000
WORDS = [
    "grid",
    "solar",
    "council",
    "harbour",
    "rail",
    "budget",
    "school",
    "river",
    "bridge",
    "clinic",
    "market",
    "museum",
    "tram",
    "library",
    "station",
    "park",
    "tower",
    "factory",
    "vote",
    "ferry",
]


def synthetic(n: int) -> str:
    """A small made-up article: a title and 2–4 sentences of random words and numbers."""
    rng = random.Random(n)
    sentences = [
        f"The {rng.choice(WORDS)} {rng.choice(WORDS)} project number {n} reached {rng.randint(2, 999)} "
        f"{rng.choice(WORDS)} units in week {rng.randint(1, 52)}."
        for _ in range(rng.randint(2, 4))
    ]
    return f"Synthetic report {n}\n\n" + " ".join(sentences) + "\n"


def test_a_killed_bulk_ingestion_of_1000_articles_resumes_exactly(tmp_path: Path, pg_database):
    copy_seeds(tmp_path / "seeds")
    uri = pg_database()
    cfg = tmp_config(tmp_path, store__engine="postgres", store__uri=uri, embedder__model="test-hash")
    load_or_build_store(cfg, HashEmbedder(), log=lambda _: None)
    seed_docs = open_store(cfg).document_ids()
    folder = tmp_path / "bulk"
    folder.mkdir()
    expected = {}
    for i in range(N):
        path = folder / f"a{i:04d}.txt"
        path.write_text(synthetic(i), encoding="utf-8")
        expected[f"upload_{path.stem}"] = len(
            chunk_document(
                make_document("x", synthetic(i)), cfg.store.chunk_max_chars, cfg.store.chunk_overlap_sentences
            )
        )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QA_STORE": "postgres",
        "QA_STORE_URI": uri,
        "QA_EMBED_MODEL": "test-hash",
        "QA_SEEDS_DIR": str(tmp_path / "seeds"),
        "QA_UPLOADS_DIR": str(tmp_path / "uploads"),
        "QA_INDEX_DIR": str(tmp_path / "index"),
    }
    command = [sys.executable, "-m", "qa.cli", "index", "--add", str(folder)]
    writer = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watcher, deadline = open_store(cfg), time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        if len(watcher.document_ids()) >= len(seed_docs) + N // 3:
            os.kill(writer.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL, "the writer finished before it could be killed"
    done = len(open_store(cfg).document_ids()) - len(seed_docs)
    assert 0 < done < N

    resumed = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"added {N - done}, already indexed {done}, failed 0" in resumed.stdout
    assert "indexing" in resumed.stderr  # the progress bar

    store = open_store(cfg)
    chunks = store.chunks_at(list(range(store.count())))
    assert len({c.id for c in chunks}) == len(chunks)  # no chunk twice
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    uploaded = {d: n for d, n in counts.items() if d not in seed_docs}
    assert uploaded == expected  # every article, each with all its chunks: none lost
    assert set(counts) == store.document_ids()
    # the lexical bookkeeping is whole too: every term's document frequency counts its postings
    wrong = store.conn.execute(
        "SELECT count(*) FROM (SELECT term, count(*) AS n FROM qa_postings GROUP BY term) p "
        "FULL JOIN qa_terms USING (term) WHERE n IS DISTINCT FROM df"
    ).fetchone()[0]
    assert wrong == 0
