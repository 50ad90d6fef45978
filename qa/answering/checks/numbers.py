"""Check `numbers`: every value a sentence states must be stated by a given passage.

66亿 = 6.6 billion = 6,6 Milliarden (qa.text.numbers); numbers the question itself gives and
digits inside names ("GPT-4o") do not count. The passage must also be of the article that names
what the sentence pairs the number with (a name of the passages in the sentence must stand in
the same article as the number). A sentence cited elsewhere is re-cited to the passage that
states its numbers; such a sentence needs no similarity support (State.grounded).
"""

from __future__ import annotations

from qa.answering.checks.base import Context, Problem, State, Subject
from qa.text import numbers
from qa.text.names import NAMED_NUMBER, names
from qa.types import Reason


def claimed_numbers(text: str, ctx: Context) -> list[float]:
    """The values a sentence states that the question does not already give."""
    return [
        v
        for v in numbers.extract(NAMED_NUMBER.sub(" ", text), lang=ctx.lang)
        if not any(numbers.same(v, q) for q in ctx.question_numbers)
    ]


class NumbersCheck:
    name = "numbers"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        claimed = claimed_numbers(subject.claim.text, ctx)
        if not claimed:
            return state
        every_text = " ".join(ctx.texts)
        known = [n for n in names(subject.claim.text, ctx.lang) if n.lower() in every_text]
        # passages stating every number of the claim, and every corpus name it pairs them with
        ok = [j + 1 for j in range(len(ctx.passages)) if not numbers.supported(claimed, ctx.stated[j])]
        together = [n for n in ok if all(k.lower() in ctx.articles[n - 1] for k in known)]
        if together:
            cite = state.cite
            if not any(n in together for n in cite):
                cite = (max(together, key=lambda n: subject.sims[n - 1]),)
            return State(cite=cite, grounded=True)
        if ok:
            return Problem(
                Reason.NUMBER_WITHOUT_ITS_NAME,
                f"the passages do not state {', '.join(numbers.render(v, 'en') for v in claimed)} "
                f"together with {', '.join(known)}",
            )
        missing = numbers.supported(claimed, [v for vs in ctx.stated for v in vs])
        return Problem(
            Reason.NUMBER_NOT_IN_SOURCES,
            f"number not in the passages: {', '.join(numbers.render(v, 'en') for v in missing or claimed)}",
        )
