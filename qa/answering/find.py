"""Stage 1, find: the passages of the articles that a question is about.

A follow-up ("and why did he join them?") is searched twice, alone and together with the
question before it, and the two rankings are fused, so that "he" finds the passages of the
person the conversation is about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.answering.retrieve import Retriever, rrf
from qa.types import Passage


@dataclass(frozen=True)
class Found:
    """What retrieval found for one question."""

    passages: list[Passage]  # chunks, rank order
    relevance: float  # cosine of the best chunk: how much the articles have to say about it
    query_vectors: np.ndarray  # rows: the question; for a follow-up also the question with the one before


def find(retriever: Retriever, question: str, history: list[dict] | None = None, k: int | None = None) -> Found:
    """The top `k` passages for a question (default: the retrieval settings' top_k)."""
    k = k or retriever.settings.top_k
    previous = [t["content"] for t in (history or []) if t.get("role") == "user" and t.get("content")]
    qv = retriever.query_vector(question)
    relevance = retriever.relevance(qv)
    passages = retriever.search(question, k=k, vector=qv)
    vectors = [qv]
    if previous:  # a follow-up is searched together with the question before it
        combined = f"{previous[-1]}\n{question}"
        cv = retriever.query_vector(combined)
        relevance = max(relevance, retriever.relevance(cv))
        more = retriever.search(combined, k=k, vector=cv)
        fused = rrf([[p.chunk.id for p in more], [p.chunk.id for p in passages]], retriever.settings.rrf_k)
        pool = {p.chunk.id: p for p in passages + more}
        passages = [pool[i] for i in sorted(fused, key=lambda i: -fused[i])][:k]
        vectors.append(cv)
    return Found(passages, relevance, np.stack(vectors))
