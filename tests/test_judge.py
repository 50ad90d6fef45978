"""The judge of one cited passage (qa.answering.judge): what it asks, how it reads the reply's
first token, and that it asks once per passage. A tiny recording generator stands in."""

from __future__ import annotations

from qa.answering import judge
from qa.answering.judge import Judge, p_yes
from qa.types import Chunk, Passage


def passage(n: int, text: str) -> Passage:
    chunk = Chunk(id=f"doc#s{n}", doc_id="doc", lang="de", start=0, end=len(text), text=text, sentences=())
    return Passage(chunk=chunk, score=0.5, dense=0.5)


class Recording:
    def __init__(self, probs: dict[str, float]):
        self.probs, self.asked = probs, []

    def first_token_probs(self, messages, top=20):
        self.asked.append(messages)
        return dict(self.probs)


def test_yes_is_read_against_no_whatever_the_case_or_spacing():
    assert p_yes({"Yes": 0.6, " yes": 0.2, "No": 0.2}) == 0.8
    assert p_yes({"no": 0.9, "yes": 0.1, "Maybe": 0.5}) == 0.1  # other tokens do not count
    assert p_yes({"The": 0.9}) is None and p_yes({}) is None


def test_the_judge_sees_the_passage_and_the_question_only():
    gen = Recording({"no": 0.75, "yes": 0.25})
    said = Judge(gen, "Wie viel  verdient\nMaria Olsen?")(passage(1, "Vantor Labs zahlte\n45 Millionen Dollar."))
    assert said == 0.25
    [[system, user]] = gen.asked
    assert system == {"role": "system", "content": judge.SYSTEM}
    assert user["content"] == (
        "Source: Vantor Labs zahlte 45 Millionen Dollar.\n\nQuestion: Wie viel verdient Maria Olsen?\n\n" + judge.ASK
    )


def test_each_passage_is_asked_once():
    gen = Recording({"yes": 0.9, "no": 0.1})
    ask = Judge(gen, "Who founded it?")
    one, two = passage(1, "Maria Olsen founded it."), passage(2, "It opened in 2011.")
    assert [ask(one), ask(two), ask(one), ask(two)] == [0.9] * 4
    assert len(gen.asked) == 2
