"""The FAISS store's lexical index: BM25 over chunk texts with bm25s (sparse-matrix scoring that
stays fast at 100k+ chunks), tokenised by qa.text.lexical (the tokenizer the PostgreSQL store and
citation verification share) with its K1 and B.
"""

from __future__ import annotations

import bm25s
import numpy as np

from qa.text.lexical import K1, B, doc_tokens, tokenize


class LexicalIndex:
    """BM25 over chunk texts. Rebuilt from the chunk texts on load (milliseconds for the seed
    corpus, seconds for 100k chunks), so nothing but the chunks themselves is persisted."""

    def __init__(self, texts: list[str]):
        self._bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
        self.size = len(texts)
        corpus = [doc_tokens(t) for t in texts]
        if corpus:  # bm25s cannot index an empty corpus; search() answers [] for it
            self._bm25.index(corpus, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = tokenize(query)
        if not tokens or not self.size:
            return []
        scores = self._bm25.get_scores(tokens)
        rows = np.flatnonzero(scores > 0)  # ascending rows
        if k <= 0 or not len(rows):
            return []
        if len(rows) > k:  # everything tied with the k-th score stays a candidate
            kth = -np.partition(-scores[rows], k - 1)[k - 1]
            rows = rows[scores[rows] >= kth]
        # ties break by ascending row, as in the PostgreSQL store (ORDER BY score DESC, pos)
        top = rows[np.argsort(-scores[rows], kind="stable")][:k]
        return [(int(i), float(scores[i])) for i in top]
