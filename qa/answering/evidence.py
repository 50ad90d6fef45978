"""Evidence selection: the few article sentences that answer a question.

A 1.5B generator restates a few short, relevant sentences well and loses facts in long
passages. Retrieval (qa.retrieve) finds the articles; this stage ranks every sentence of those
articles by the cosine of its vector (embedded at index time with the sentence before it) to the
question, and keeps the best ones that fit a prompt budget:
- a sentence that says the same as one already kept in another article (a translation, cosine
  ≥ the duplicate threshold) is skipped, so two parts of a question get two different sentences;
  sentences of one article are never dropped as duplicates of each other: each is embedded with
  the one before it, so neighbours look alike (a fact sentence was lost behind the sentence
  after it);
- for a follow-up, a sentence may match either the question or the question with the one
  before it (whichever is closer).
The chosen sentences are returned most relevant first, as Passages over one-sentence Chunks, so
citations point at exactly the sentence that states the fact.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from qa.answering.find import Found
from qa.answering.retrieve import fit_budget
from qa.config import EvidenceSettings
from qa.store.base import Store
from qa.text.chunking import weight
from qa.text.lang import distance
from qa.types import Chunk, Document, Evidence, Passage


def select(
    store: Store,
    passages: list[Passage],
    query_vectors: list[np.ndarray],
    settings: EvidenceSettings,
    duplicate_cosine: float,
    lang: str | None = None,
) -> list[Passage]:
    """The evidence sentences for a question: best first, at most `settings.sentences`, within
    `settings.budget` weighted characters (the best one always), no two saying the same thing
    (cosine ≥ `duplicate_cosine` across articles). A sentence whose cosine is more than
    `settings.margin` below the best one's is left out (None: no margin). With
    `settings.redundancy` > 0 the next sentence is the one with the highest cosine minus
    redundancy × its cosine to the closest sentence already chosen (maximal marginal relevance).
    Of two translations of one sentence, the one closer to the reader's language `lang` is given
    (see _choose). The candidates are every sentence of the articles the passages come from, read
    from the store with their vectors in one state (Store.sentences_of)."""
    with store.reading():
        units, vectors = store.sentences_of(list(dict.fromkeys(p.doc_id for p in passages)))
        if not units:
            return []
        scores = np.max(np.stack([vectors @ q for q in query_vectors]), axis=0)
        floor = float(scores.max()) - settings.margin if settings.margin is not None else -np.inf
        open_ = [int(j) for j in np.argsort(-scores, kind="stable") if scores[j] >= floor]
        chosen = _choose(units, open_, scores, vectors, settings, duplicate_cosine, lang)
        docs = (
            {d: store.document(d) for d in dict.fromkeys(units[j].doc_id for j in chosen)} if settings.context else {}
        )
    picked = set(chosen)
    return [
        Passage(
            chunk=with_context(units, j, picked, docs.get(units[j].doc_id)) if settings.context else units[j],
            score=float(scores[j]),
            dense=float(scores[j]),
        )
        for j in chosen
    ]


def gather(store: Store, found: Found, settings: EvidenceSettings, duplicate_cosine: float, lang: str) -> Evidence:
    """What the generator is given for one question: the best sentences of the retrieved
    articles (or, with `settings.sentences` 0, the retrieved passages within the budget), and
    the single closest sentence (the answer of last resort)."""
    vectors = list(found.query_vectors)
    if settings.sentences:
        given = select(store, found.passages, vectors, settings, duplicate_cosine, lang)
        best = given[:1]  # the best sentence always goes in first
    else:
        given = fit_budget(found.passages, settings.budget)
        one = replace(settings, budget=0, sentences=1, margin=None, redundancy=0.0)
        best = select(store, found.passages, vectors, one, duplicate_cosine, lang)
    return Evidence(found.passages, given, best[0] if best else None, found.relevance)


def _choose(
    units: list[Chunk],
    open_: list[int],
    scores: np.ndarray,
    vectors: np.ndarray,
    settings: EvidenceSettings,
    duplicate_cosine: float,
    lang: str | None,
) -> list[int]:
    """Positions of the chosen sentences, in the order chosen.

    A translation in another article (cosine ≥ `duplicate_cosine`) is not given twice. When it
    is closer to the reader's language than the one already chosen, it takes that one's place:
    the 1.5B generator restates a sentence of the asker's language (or at least script) with its
    names and key words intact, and garbles names it has to transliterate ("Sيباستيان" in an
    English answer from an Arabic sentence while the German one was retrieved too). Within one
    article neighbours are never translations, and they embed alike (each with the one before
    it): both stay."""
    budget, limit = settings.budget, settings.sentences
    chosen: list[int] = []
    used = 0.0
    while open_ and len(chosen) < limit:
        j = _next(open_, scores, vectors, chosen, settings.redundancy)
        open_.remove(j)
        size = weight(units[j].text)
        twin = next(
            (
                k
                for k in chosen
                if units[k].doc_id != units[j].doc_id and float(vectors[j] @ vectors[k]) >= duplicate_cosine
            ),
            None,
        )
        if twin is not None:
            swapped = used - weight(units[twin].text) + size
            if (
                lang
                and distance(units[j].lang, lang) < distance(units[twin].lang, lang)
                and not (swapped > budget > 0 and len(chosen) > 1)
            ):
                chosen[chosen.index(twin)], used = j, swapped
            continue
        if chosen and (used + size > budget > 0):
            continue
        chosen.append(j)
        used += size
    return chosen


def _next(open_: list[int], scores: np.ndarray, vectors: np.ndarray, chosen: list[int], redundancy: float) -> int:
    """The next candidate: the best-scoring one, or with `redundancy` the best after a penalty
    for resembling a sentence already chosen."""
    if not redundancy or not chosen:
        return open_[0]
    similar = (vectors[open_] @ vectors[chosen].T).max(axis=1)
    return open_[int(np.argmax(scores[open_] - redundancy * similar))]


def with_context(units: list[Chunk], j: int, picked: set[int], doc: Document | None) -> Chunk:
    """The sentence `units[j]` together with the one before it in its paragraph (the context it
    was embedded with: "Er sagte: …" needs the sentence that names him), unless that one is
    evidence of its own (its position is in `picked`). `units` holds each article's sentences
    in order, as Store.sentences_of gives them; `doc` is the sentence's article. Keeps the
    sentence's id, so the citation names the sentence."""
    unit = units[j]
    prev = units[j - 1] if j > 0 and j - 1 not in picked else None
    if prev is None or prev.doc_id != unit.doc_id or doc is None or doc.text[prev.end : unit.start].count("\n") > 0:
        return unit
    return replace(
        unit, start=prev.start, text=doc.text[prev.start : unit.end], sentences=prev.sentences + unit.sentences
    )
