"""A forced choice put to the generator before it answers: which numbered passage states the
answer to exactly this question, or 0 for none. The probability of "0" (over the digit tokens of
the first reply token, qa.models.generator.Generator.first_token_probs) is a refusal signal that
reads what a passage says *about whom*: a passage with the asked kind of value for another
person or company does not answer, and the model can tell that where string checks cannot.

The probe's messages share the answering prompt's system turn and the start of its user turn
(the passages), so llama.cpp's prompt cache serves that prefix to the answer that follows: the
probe costs one forward pass over the question and the instruction, not a second prompt.
"""

from __future__ import annotations

from qa.answering.prompts import build_messages
from qa.models.generator import Generator
from qa.types import Passage

CHOICE = (
    "Which passage states the answer to exactly this question? "
    "Reply with the passage number only, or 0 if no passage states it."
)


def choice_messages(question: str, given: list[Passage], lang: str, history: list[dict] | None = None) -> list[dict]:
    """The answering prompt (history included, so a follow-up's "he" is resolved alike) with its
    last instruction replaced by the forced choice."""
    messages = build_messages(question, given, lang, history)
    user = messages[-1]["content"]
    head = user[: user.rindex("\n") + 1]  # "Passages: … Question: …\n"
    return messages[:-1] + [{"role": "user", "content": head + CHOICE}]


def none_probability(probs: dict[str, float], count: int) -> float | None:
    """P("0") among the choices 0..count, normalised over the digit tokens the model gave any
    probability; None when none of them is among its likely first tokens (no signal)."""
    choices = {str(n): 0.0 for n in range(count + 1)}
    for token, p in probs.items():
        key = token.strip()
        if key in choices:
            choices[key] += p
    total = sum(choices.values())
    return choices["0"] / total if total > 0 else None


def p_none(
    generator: Generator, question: str, given: list[Passage], lang: str, history: list[dict] | None = None
) -> float | None:
    """The probability that no given passage answers the question (None: no signal)."""
    if not given:
        return 1.0
    probs = generator.first_token_probs(choice_messages(question, given, lang, history))
    return none_probability(probs, len(given))
