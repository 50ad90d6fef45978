"""The names check's word vectors are embedded once per embedder (qa.models.word_vectors)."""

from __future__ import annotations

import numpy as np
from conftest import HashEmbedder

from qa.models import word_vectors
from qa.models.word_vectors import document_vectors


def test_cached_vectors_are_the_embedders_own_in_the_asked_order():
    embedder = HashEmbedder("word-vectors", dim=64)
    words = ["Vizepräsident", "谷歌", "Anthropic", "谷歌"]
    got = document_vectors(embedder, words)
    assert np.array_equal(got, HashEmbedder("word-vectors", dim=64).embed_documents(words))


def test_a_word_is_embedded_once_however_often_it_is_asked_for():
    embedder = HashEmbedder("word-vectors", dim=64)
    document_vectors(embedder, ["Meta", "OpenAI", "Meta"])
    assert embedder.calls == 2
    again = document_vectors(embedder, ["OpenAI", "Microsoft", "Meta"])
    assert embedder.calls == 3  # only "Microsoft" was new
    assert np.array_equal(again[0], embedder.embed_documents(["OpenAI"])[0])


def test_each_embedder_has_its_own_vectors():
    small, large = HashEmbedder("word-vectors", dim=16), HashEmbedder("word-vectors", dim=64)
    assert document_vectors(small, ["Meta"]).shape == (1, 16)
    assert document_vectors(large, ["Meta"]).shape == (1, 64)


def test_the_cache_keeps_at_most_its_limit_the_least_recently_used_leaving_first(monkeypatch):
    monkeypatch.setattr(word_vectors, "MAX_WORDS", 3)
    embedder = HashEmbedder("word-vectors", dim=16)
    document_vectors(embedder, ["a1", "b2", "c3"])
    document_vectors(embedder, ["a1"])  # used again: "b2" is now the oldest
    document_vectors(embedder, ["d4"])
    assert embedder.calls == 4
    document_vectors(embedder, ["a1", "c3", "d4"])
    assert embedder.calls == 4  # all three still held
    document_vectors(embedder, ["b2"])
    assert embedder.calls == 5  # "b2" had been dropped


def test_no_words_give_an_empty_table():
    assert document_vectors(HashEmbedder(), []).size == 0


def test_a_table_larger_than_the_cache_is_returned_whole_and_the_cache_stays_within_its_limit(monkeypatch):
    monkeypatch.setattr(word_vectors, "MAX_WORDS", 2)
    embedder = HashEmbedder("word-vectors", dim=16)
    words = ["w1", "w2", "w3", "w4"]
    expected = HashEmbedder("word-vectors", dim=16).embed_documents(words)
    assert np.array_equal(document_vectors(embedder, words), expected)
    assert len(word_vectors._caches[embedder]) == 2
