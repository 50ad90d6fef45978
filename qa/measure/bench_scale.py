"""`qa bench`'s scale measurement: retrieval over a synthetic corpus of 100k (1M with --large)
chunks derived from the real index. Vectors are real chunk vectors plus small Gaussian noise,
renormalised; texts are recombined real sentences. Nothing is embedded with the model (100k
texts would take hours on this CPU).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable

import numpy as np

from qa.answering.retrieve import Retriever
from qa.config import Config
from qa.measure.bench_answers import time_calls
from qa.measure.stats import p50_p95
from qa.measure.system import current_rss_mb
from qa.store.base import HNSW_ABOVE
from qa.store.faiss_index import Index
from qa.store.faiss_store import FaissStore
from qa.types import Chunk

SCALE_NOISE = 0.5  # norm of the noise added to a unit chunk vector (cosine to it ≈ 0.89)


def synthetic_vectors(
    base: np.ndarray, n: int, noise: float = SCALE_NOISE, seed: int = 0, block: int = 50_000
) -> np.ndarray:
    """n unit vectors: base rows (cycled) + Gaussian noise of expected norm `noise`, renormalised."""
    if base.ndim != 2 or not len(base):
        raise ValueError("synthetic vectors need at least one base vector")
    rng = np.random.default_rng(seed)
    m, dim = base.shape
    sigma = np.float32(noise / math.sqrt(dim))
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        v = base[np.arange(start, stop) % m].astype(np.float32)
        v += rng.standard_normal((stop - start, dim), dtype=np.float32) * sigma
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start:stop] = v
    return out


def synthetic_texts(chunk_sentences: list[list[str]], chunk_langs: list[str], n: int, seed: int = 0) -> list[str]:
    """n chunk-sized texts: synthetic chunk j starts with the first sentence of real chunk j mod m
    and continues with 1–2 random sentences of the same language, so BM25 sees real vocabulary
    with realistic term statistics."""
    if not chunk_sentences:
        raise ValueError("synthetic texts need at least one real chunk")
    rng = np.random.default_rng(seed + 1)
    pools: dict[str, list[str]] = {}
    for sentences, lang in zip(chunk_sentences, chunk_langs):
        pools.setdefault(lang, []).extend(s for s in sentences if s.strip())
    m = len(chunk_sentences)
    extra = rng.integers(1, 3, size=n)
    texts = []
    for j in range(n):
        i = j % m
        pool = pools.get(chunk_langs[i]) or [""]
        picks = rng.integers(0, len(pool), size=int(extra[j]))
        head = chunk_sentences[i][0] if chunk_sentences[i] else ""
        texts.append(" ".join([head] + [pool[p] for p in picks]).strip() or "\u2205")
    return texts


def synthetic_index(index, n: int, noise: float = SCALE_NOISE, seed: int = 0):
    """A qa.store.faiss_index.Index of n synthetic chunks derived from a real index (see module docstring);
    returns (index, build seconds). Only building the Index (FAISS + BM25) is timed."""
    chunks = index.chunks
    sentences = [[index.docs[c.doc_id].text[a:b] for a, b in c.sentences] or [c.text] for c in chunks]
    texts = synthetic_texts(sentences, [c.lang for c in chunks], n, seed)
    vectors = synthetic_vectors(index.vectors, n, noise, seed)
    syn = [
        Chunk(
            id=f"synthetic#{j}",
            doc_id=chunks[j % len(chunks)].doc_id,
            lang=chunks[j % len(chunks)].lang,
            start=0,
            end=len(t),
            text=t,
            sentences=((0, len(t)),),
        )
        for j, t in enumerate(texts)
    ]
    del texts
    gc.collect()
    started = time.perf_counter()
    big = Index(list(index.docs.values()), syn, vectors, {"synthetic": True, "chunks": n})
    return big, time.perf_counter() - started


def measure_scale(index, embedder, cfg: Config, questions: list[str], n: int, log: Callable[[str], None]) -> dict:
    """Retrieval latency through the real Retriever over a synthetic n-chunk index."""
    gc.collect()
    rss_before = current_rss_mb()
    log(
        f"scale: building a synthetic index of {n:,} chunks (vectors = real chunk vectors + noise; "
        "texts = recombined real sentences; nothing is embedded with the model)"
    )
    big, build_s = synthetic_index(index, n)
    gc.collect()
    retriever = Retriever(FaissStore.over(big), embedder, cfg.retrieval)
    full = time_calls(retriever.search, questions)
    vectors = {q: retriever.query_vector(q) for q in questions}
    search = retriever.search
    search_only = time_calls(lambda q: search(q, vector=vectors[q]), questions)
    rss = current_rss_mb()
    r50, r95 = p50_p95(full, 1000)
    s50, s95 = p50_p95(search_only, 1000)
    result = {
        "chunks": n,
        "build_s": build_s,
        "retrieval_ms_p50": r50,
        "retrieval_ms_p95": r95,
        "rss_mb": rss,
        "details": {
            "dense_index": "HNSW (M=32, efSearch=96)" if n > HNSW_ABOVE else "exact (flat)",
            "search_only_ms_p50": s50,
            "search_only_ms_p95": s95,
            "rss_before_mb": rss_before,
            "rss_added_mb": rss - rss_before,
            "samples": len(full),
            "noise_norm": SCALE_NOISE,
            "how": "synthetic: real chunk vectors + Gaussian noise (renormalised), texts "
            "recombined from real sentences; retrieval_ms includes embedding the "
            "question, search_only_ms uses precomputed question vectors",
        },
    }
    del big, retriever
    gc.collect()
    return result
