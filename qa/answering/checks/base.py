"""What every check of a draft sentence reads and returns.

A check is a small named unit: given one claim (a sentence of the draft, with its similarity
to each given passage), what is known of the passages and the question (Context), and the
citation state so far (State), it returns the state to go on with (possibly re-cited to the
passage that states the claim) or a Problem: a typed reason and a detail saying what is wrong.
The first Problem removes the sentence (qa.answering.verify runs them in order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.answering.claims import Claim
from qa.config import CheckSettings
from qa.models.embedder import Embedder
from qa.text import numbers
from qa.text.asked import Kind, asked_kind
from qa.types import Passage, Reason


@dataclass(frozen=True)
class Problem:
    reason: Reason
    detail: str  # human-readable, e.g. "number not in the passages: 2021"


@dataclass(frozen=True)
class State:
    cite: tuple[int, ...]  # 1-based numbers of the given passages the sentence cites
    grounded: bool = False  # a check found the sentence's exact content (its numbers) in a cited passage


@dataclass(frozen=True)
class Subject:
    claim: Claim
    sims: np.ndarray  # cosine of the claim (query embedding) to each given passage (document embedding)


@dataclass(frozen=True)
class Context:
    """What the checks of one draft know of the question and the passages the model was given."""

    question: str
    lang: str
    passages: list[Passage]
    texts: list[str]  # each passage's text, lower case
    articles: list[str]  # each passage's whole article, lower case (its own text when unknown)
    stated: list[list[float]]  # the numbers each passage states
    question_numbers: list[float]
    asked: Kind | None  # the kind of value the question asks for (qa.text.asked)
    settings: CheckSettings
    embedder: Embedder
    # P(a passage on its own answers the question), the generator's judgement
    # (qa.answering.judge); None: no judge, the `answers` check passes every sentence
    judge: Callable[[Passage], float | None] | None = None
    earlier: str = ""  # the user's earlier questions in this conversation, lower case

    @property
    def haystack(self) -> str:
        """The passages, the question and the user's earlier questions, lower case: where a name
        may come from."""
        return " ".join(self.texts) + " " + self.question.lower() + " " + self.earlier

    @classmethod
    def of(
        cls,
        question: str,
        lang: str,
        passages: list[Passage],
        documents: list[str] | None,
        settings: CheckSettings,
        embedder: Embedder,
        judge: Callable[[Passage], float | None] | None = None,
        earlier: tuple[str, ...] = (),
    ) -> Context:
        texts = [p.chunk.text.lower() for p in passages]
        return cls(
            question=question,
            lang=lang,
            passages=passages,
            texts=texts,
            articles=[d.lower() for d in documents] if documents else texts,
            stated=[numbers.extract(p.chunk.text, lang=p.chunk.lang) for p in passages],
            question_numbers=numbers.extract(question, lang=lang),
            asked=asked_kind(question, lang),
            settings=settings,
            embedder=embedder,
            judge=judge,
            earlier=" ".join(earlier).lower(),
        )


class Check(Protocol):
    name: str

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem: ...
