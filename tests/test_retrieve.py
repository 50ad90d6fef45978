"""Retrieval arithmetic: reciprocal rank fusion and near-duplicate removal. Fast, no models."""

from __future__ import annotations

import numpy as np
import pytest

from qa.answering.retrieve import diversify, fit_budget, rrf
from qa.config import RetrievalSettings
from qa.types import Chunk, Passage

DUPLICATE_COSINE = RetrievalSettings().duplicate_cosine


def test_rrf_sums_reciprocal_ranks():
    scores = rrf([[10, 20, 30], [30, 10]], k=60)
    assert scores[10] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[20] == pytest.approx(1 / 62)
    assert scores[30] == pytest.approx(1 / 63 + 1 / 61)
    assert set(scores) == {10, 20, 30}


def test_rrf_order_rewards_agreement():
    scores = rrf([[1, 2, 3], [3, 1, 2]], k=60)
    assert sorted(scores, key=lambda i: -scores[i]) == [1, 3, 2]


def test_rrf_small_k_favours_the_top_ranks():
    assert rrf([[5, 6]], k=0) == {5: 1.0, 6: 0.5}


def test_rrf_works_on_string_ids_and_empty_rankings():
    assert rrf([]) == {}
    assert rrf([[], []]) == {}
    scores = rrf([["a#1", "b#2"], ["b#2"]])
    assert scores["b#2"] > scores["a#1"]


def test_rrf_single_ranking_keeps_its_order():
    ranking = [7, 3, 9, 1]
    scores = rrf([ranking])
    assert sorted(scores, key=lambda i: -scores[i]) == ranking


def _unit(*rows: list[float]) -> np.ndarray:
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


VECTORS = _unit(
    [1.0, 0.0, 0.0],  # 0
    [0.99, 0.14, 0.0],  # 1: a near-duplicate of 0 (a translation or an overlapping neighbour)
    [0.0, 1.0, 0.0],  # 2
    [0.0, 0.0, 1.0],  # 3
    [0.0, 0.7, 0.7],  # 4: related to 2 and 3, cosine 0.71 with each: not a duplicate
)


def test_diversify_drops_near_duplicates():
    assert float(VECTORS[0] @ VECTORS[1]) >= DUPLICATE_COSINE
    assert diversify([0, 1, 2, 3, 4], VECTORS, limit=10, threshold=DUPLICATE_COSINE) == [0, 2, 3, 4]


def test_diversify_keeps_the_better_ranked_of_two_duplicates():
    assert diversify([1, 0, 2], VECTORS, limit=10, threshold=DUPLICATE_COSINE) == [1, 2]


def test_diversify_stops_at_the_limit():
    assert diversify([0, 1, 2, 3, 4], VECTORS, limit=2, threshold=DUPLICATE_COSINE) == [0, 2]
    assert diversify([0, 2, 3], VECTORS, limit=1, threshold=DUPLICATE_COSINE) == [0]


def test_diversify_threshold():
    assert diversify([2, 4, 3], VECTORS, limit=10, threshold=0.7) == [2, 3]
    assert diversify([0, 1], VECTORS, limit=10, threshold=1.01) == [0, 1]


def test_diversify_empty_order():
    assert diversify([], VECTORS, limit=4, threshold=DUPLICATE_COSINE) == []


def _passage(i: int, text: str) -> Passage:
    chunk = Chunk(id=f"d#{i}", doc_id="d", lang="en", start=0, end=len(text), text=text, sentences=((0, len(text)),))
    return Passage(chunk=chunk, score=1.0 / (i + 1), dense=0.5)


def test_fit_budget_takes_passages_in_rank_order_while_they_fit():
    ps = [_passage(0, "a" * 200), _passage(1, "b" * 200), _passage(2, "c" * 200)]
    assert [p.chunk.id for p in fit_budget(ps, 450)] == ["d#0", "d#1"]
    assert [p.chunk.id for p in fit_budget(ps, 600)] == ["d#0", "d#1", "d#2"]


def test_fit_budget_always_keeps_the_best_passage_and_skips_to_smaller_ones():
    ps = [_passage(0, "a" * 500), _passage(1, "b" * 300), _passage(2, "c" * 50)]
    assert [p.chunk.id for p in fit_budget(ps, 100)] == ["d#0"]
    assert [p.chunk.id for p in fit_budget(ps, 600)] == ["d#0", "d#2"]


def test_fit_budget_counts_cjk_as_wider_than_latin():
    ps = [_passage(0, "a" * 100), _passage(1, "字" * 100)]
    assert len(fit_budget(ps, 250)) == 1  # 100 Han characters weigh 250
    assert len(fit_budget(ps, 0)) == 2  # 0 = no limit
