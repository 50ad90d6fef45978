"""A yes/no question put to the generator about one passage on its own: does this source answer
this question? P("yes") over the first reply token (normalised over yes/no) is the signal the
`answers` check (qa.answering.checks.answers) reads for each passage an answer sentence cites.

It differs from the probe (qa.answering.probe) in what the model sees: one cited sentence in a
fresh conversation, not the four evidence sentences of the answering prompt, and not the model's
own answer (asked to judge its own answer, the 1.5B model affirms it: measured, see
CheckSettings.answers_yes). A sentence that carries the asked kind of value for another person,
company or fact is what it says no to.
"""

from __future__ import annotations

from qa.models.generator import Generator
from qa.types import Passage

# The wording measured on the dev split (CheckSettings.answers_yes); a change re-measures it.
SYSTEM = "You check answers against news sources. Reply yes or no."
ASK = "Does the source answer this question? Reply yes or no."


def messages(question: str, passage: str) -> list[dict]:
    """The judge's conversation about one passage."""
    user = f"Source: {' '.join(passage.split())}\n\nQuestion: {' '.join(question.split())}\n\n{ASK}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def p_yes(probs: dict[str, float]) -> float | None:
    """P("yes") against P("no") among the first reply token's likely tokens; None when neither
    is among them (no signal)."""
    yes = sum(p for token, p in probs.items() if token.strip().lower() == "yes")
    no = sum(p for token, p in probs.items() if token.strip().lower() == "no")
    return yes / (yes + no) if yes + no > 0 else None


class Judge:
    """P(the passage answers `question`) for the passages of one answer, asked once each."""

    def __init__(self, generator: Generator, question: str):
        self.generator, self.question = generator, question
        self._seen: dict[str, float | None] = {}

    def __call__(self, passage: Passage) -> float | None:
        key = passage.chunk.id
        if key not in self._seen:
            probs = self.generator.first_token_probs(messages(self.question, passage.chunk.text))
            self._seen[key] = p_yes(probs)
        return self._seen[key]
