"""`qa bench`'s index measurements: the seed corpus indexed from scratch, and one article added,
through the store's own build and add paths, into a temporary FAISS store (the default engine;
`qa bench --stores` compares the engines at scale).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.build import load_or_build_store
from qa.store.embedding import add_article
from qa.text.corpus import make_document


def measure_index(cfg: Config, embedder: Embedder, log: Callable[[str], None]) -> dict:
    """Build the seed corpus index from scratch into a temporary directory (documents read,
    chunked, every text embedded, FAISS + BM25 built, the generation saved), then add one article
    (made, embedded, added, a new generation saved)."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        tmp_cfg = cfg.with_(store__engine="faiss", index_dir=Path(tmp) / "index", uploads_dir=Path(tmp) / "no-uploads")
        started = time.perf_counter()
        store = load_or_build_store(tmp_cfg, embedder, log=lambda _: None)
        build_s = time.perf_counter() - started
        built = store.count()
        docs = [store.document(d.id) for d in store.documents()]
        log(f"index build: {len(docs)} articles, {built} chunks in {build_s:.2f} s")

        # a median-length seed article, altered so the duplicate check does not reject it
        source = sorted(docs, key=lambda d: len(d.text))[len(docs) // 2]
        text = source.text.rstrip() + "\n\n(Updated copy for the benchmark.)\n"
        started = time.perf_counter()
        doc = make_document("bench_added", text, str(Path(tmp) / "bench_added.txt"))
        add_article(store, doc, embedder, tmp_cfg)
        add_s = time.perf_counter() - started
        added = store.count() - built
        log(f"index add: {source.id} ({len(text):,} characters, {added} chunks) in {add_s:.2f} s")
    return {
        "index_build_s": build_s,
        "index_add_s": add_s,
        "build_chunks": built,
        "add_source": source.id,
        "add_chars": len(text),
        "add_chunks": added,
    }
