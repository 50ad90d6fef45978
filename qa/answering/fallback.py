"""Stage 6, fallback: when the model's draft failed its checks or it refused although the closest
evidence sentence is close to the question (cosine ≥ CheckSettings.fallback_cosine, calibrated
so that no unanswerable dev question's best sentence reaches it), the answer is that sentence:
in the asker's language (translated by the generator) and checked like any draft, cited to itself."""

from __future__ import annotations

from qa.types import Passage


def applies(best: Passage | None, fallback_cosine: float) -> bool:
    """Whether the closest evidence sentence may answer in place of the model's draft."""
    return best is not None and best.score >= fallback_cosine


def sentence_of(best: Passage) -> str:
    """The evidence sentence as one line."""
    return " ".join(best.chunk.text.split())


def shown_sources(given: list[Passage], best: Passage) -> list[Passage]:
    """What the answer was written from: the given units and the sentence of the fallback."""
    return given + ([best] if best.chunk.id not in {p.chunk.id for p in given} else [])
