"""Retrieval: dense (FAISS) + lexical (BM25), fused by reciprocal rank, then diversified.

Diversification keeps a passage out of the final list when it says the same thing as one
already chosen: a translation of it (000 and 001 are one article in German and Arabic) or an
overlapping neighbour. "Same thing" is judged on the chunk vectors already in the index
(cosine ≥ DUPLICATE_COSINE), so nothing is embedded at query time but the question.
"""

from __future__ import annotations

import numpy as np

from qa.text.chunking import weight
from qa.config import Config
from qa.models.embedder import Embedder
from qa.store.base import Store
from qa.types import Passage

DUPLICATE_COSINE = 0.82


def rrf(rankings: list[list], k: int = 60, weights: list[float] | None = None) -> dict:
    """Weighted reciprocal rank fusion: score(d) = Σ w_r / (k + rank of d in ranking r)."""
    scores: dict = {}
    for r, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[r]
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return scores


def diversify(order: list[int], vectors: np.ndarray, limit: int, threshold: float = DUPLICATE_COSINE) -> list[int]:
    chosen: list[int] = []
    for i in order:
        if all(float(vectors[i] @ vectors[j]) < threshold for j in chosen):
            chosen.append(i)
            if len(chosen) == limit:
                break
    return chosen


def fit_budget(passages: list[Passage], budget: float) -> list[Passage]:
    """The passages, in rank order, that fit in `budget` weighted characters (the first always
    does; a passage too big for what is left is skipped for a smaller one behind it)."""
    if budget <= 0:
        return list(passages)
    chosen, used = [], 0.0
    for p in passages:
        size = weight(p.chunk.text)
        if not chosen or used + size <= budget:
            chosen.append(p)
            used += size
    return chosen


class Retriever:
    """Ranks the chunks of a store (qa.store.Store: the FAISS Index or the Postgres store)."""

    def __init__(self, index: "Store", embedder: Embedder, cfg: Config):
        self.index, self.embedder, self.cfg = index, embedder, cfg

    def query_vector(self, query: str) -> np.ndarray:
        return self.embedder.embed_queries([query])[0]

    def search(self, query: str, k: int | None = None, vector: np.ndarray | None = None) -> list[Passage]:
        k = k or self.cfg.top_k
        store = self.index
        if not store.count():
            return []
        qv = self.query_vector(query) if vector is None else vector
        with store.reading():  # one state of the store for the whole retrieval
            return self._search(store, query, qv, k)

    def _search(self, store: "Store", query: str, qv: np.ndarray, k: int) -> list[Passage]:
        rankings = [[i for i, _ in store.dense_search(qv, self.cfg.dense_k)]]
        weights = [1.0]
        if self.cfg.use_lexical:
            rankings.append([i for i, _ in store.lexical_search(query, self.cfg.lexical_k)])
            weights.append(self.cfg.lexical_weight)
        fused = rrf(rankings, self.cfg.rrf_k, weights)
        order = sorted(fused, key=lambda i: (-fused[i], i))
        vectors = store.vectors_at(order) if order else np.zeros((0, len(qv)), np.float32)
        picked = diversify(list(range(len(order))), vectors, k, self.cfg.duplicate_cosine)
        chunks = store.chunks_at([order[j] for j in picked])
        cos = vectors[picked] @ qv if picked else np.zeros(0)
        return [Passage(chunk=c, score=fused[order[j]], dense=float(s)) for c, j, s in zip(chunks, picked, cos)]

    def relevance(self, query_vector: np.ndarray) -> float:
        """Cosine of the best-matching chunk: how much the corpus has to say about the query."""
        best = self.index.dense_search(query_vector, 1)
        return best[0][1] if best else -1.0
