"""Two `qa` processes on one PostgreSQL store: `qa index --add DIR` adds articles while another
process retrieves. Every retrieval sees the store before or after an add, never in between, and
after the add it finds the new articles. The embedder is the test-only `test-hash`
(QA_EMBED_MODEL): these tests are about the store, not retrieval quality."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT, HashEmbedder, copy_seeds, tmp_config

from qa.store.build import load_or_build_store, open_store

READER = """
import json, sys, time
from pathlib import Path
from qa.config import load_config
from qa.models.embedder import make_embedder
from qa.answering.retrieve import Retriever
from qa.store.build import open_store
cfg = load_config()
store, embedder = open_store(cfg), make_embedder(cfg)
stop = Path(sys.argv[1])
while True:
    done = stop.exists()  # read before the snapshot: a snapshot taken after sees the final state
    with store.reading():
        rows = list(range(store.count()))
        docs = store.document_ids()
        chunks = store.chunks_at(rows)
        hits = Retriever(store, embedder, cfg.retrieval).search("Lindenau plant modules homes report", k=4)
        per_doc = {}
        for c in chunks:
            per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
        sentences = {d: len(store.sentences_of([d])[0]) for d in docs if d.startswith("upload_")}
    print(json.dumps({"docs": sorted(docs), "per_doc": per_doc, "sentences": sentences,
                      "hits": [p.doc_id for p in hits]}), flush=True)
    if done:
        break
"""


def article(n: int) -> str:
    return (
        f"Lindenau plant report {n}\n\n"
        f"The Lindenau works opened plant {n} with {n * 7} modules. "
        * 3
        + f"\n\nDirector Hanna Vogt said plant {n} supplies {n * 13} homes.\n"
    )


def test_a_reader_sees_whole_adds_only(tmp_path: Path, pg_database):
    copy_seeds(tmp_path / "seeds")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QA_STORE": "postgres",
        "QA_STORE_URI": pg_database(),
        "QA_EMBED_MODEL": "test-hash",
        "QA_SEEDS_DIR": str(tmp_path / "seeds"),
        "QA_UPLOADS_DIR": str(tmp_path / "uploads"),
        "QA_INDEX_DIR": str(tmp_path / "index"),
    }
    cfg = tmp_config(tmp_path, store__engine="postgres", store__uri=env["QA_STORE_URI"], embedder__model="test-hash")
    load_or_build_store(cfg, HashEmbedder(), log=lambda _: None)
    before = open_store(cfg).document_ids()
    folder = tmp_path / "incoming"
    folder.mkdir()
    for i in range(12):
        (folder / f"plant_{i:02d}.txt").write_text(article(i + 1), encoding="utf-8")
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(READER), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    first = reader.stdout.readline()  # the reader is retrieving before the writer starts
    writer = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", "--add", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    stop.touch()
    out, _ = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr[-2000:]
    assert "added 12, already indexed 0, failed 0" in writer.stdout
    assert reader.returncode == 0
    seen = [json.loads(line) for line in [first, *out.splitlines()]]
    final = open_store(cfg)
    full = {d: len(final.sentences_of([d])[0]) for d in final.document_ids()}
    chunks = {}
    for c in final.chunks_at(list(range(final.count()))):
        chunks[c.doc_id] = chunks.get(c.doc_id, 0) + 1
    assert set(seen[0]["docs"]) == before  # the reader saw the store before the add …
    for state in seen:  # every article a reader saw was complete: all its chunks and sentences
        assert set(state["per_doc"]) == set(state["docs"]) and before <= set(state["docs"])
        assert all(state["per_doc"][d] == chunks[d] for d in state["docs"])
        assert all(n == full[d] for d, n in state["sentences"].items())
    last = seen[-1]  # … and after it, with the new articles found
    assert len(set(last["docs"]) - before) == 12
    assert any(d.startswith("upload_plant") for d in last["hits"])
