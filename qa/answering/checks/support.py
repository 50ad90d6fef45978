"""Check `support`: the sentence means what a passage it cites says.

The cosine between the sentence (query embedding) and a cited passage (document embedding,
cross-lingual) must reach CheckSettings.support_threshold (calibrated on the dev split). An
uncited or weakly cited sentence is re-cited to the closest given passage when that one reaches
it. A sentence whose numbers a passage states (State.grounded) needs no similarity.

A supported sentence keeps the model's citation even when another given passage is closer:
replayed on the dev split's answers (79 citations, 75 sentences), moving the citation to the
closest passage took citation precision from 0.759 to 0.705 (18 moved); only when it was closer
by 0.1 did it reach 0.785 (5 moved, within noise). The cosine ranks what a sentence is about, not
which passage states it.

Measured and not built: a key-term test across languages (each content word of an answer
sentence that its cited passage does not contain, compared by embedder cosine with every word
of that passage; a low best match taken as a term changed in translation). Replayed on dev's
answers (85 sentences): the lowest match of right answers and of wrong or unanswerable ones
overlap completely (AUC 0.53; cross-language sentences alone 0.49). One word's vector says too
little: the lowest matches were function words ("because", "left", "weil") in right answers as
often as lost terms in wrong ones.
"""

from __future__ import annotations

import numpy as np

from qa.answering.checks.base import Context, Problem, State, Subject
from qa.types import Reason


def support(sims: np.ndarray, cite: tuple[int, ...]) -> float:
    """How well the cited passages support a sentence: its best cosine to one of them (−1: none cited)."""
    return max((float(sims[n - 1]) for n in cite), default=-1.0)


class SupportCheck:
    name = "support"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        threshold = ctx.settings.support_threshold
        cited = support(subject.sims, state.cite)
        if state.grounded or cited >= threshold:
            return state
        best = int(np.argmax(subject.sims))
        if subject.sims[best] >= threshold:
            return State(cite=(best + 1,), grounded=state.grounded)
        return Problem(
            Reason.UNSUPPORTED,
            f"not supported by the passages (similarity {max(cited, float(subject.sims[best])):.2f})",
        )
