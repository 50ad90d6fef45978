"""The refusal before generating that reads what the passages say about whom (qa.answering.refusal,
qa.answering.probe) and the word test of the adds_nothing check
(qa.text.lexical.new_words): pure functions on hand-made fixtures."""

from __future__ import annotations

import pytest

from qa.answering.claims import Claim
from qa.answering.probe import CHOICE, choice_messages, none_probability
from qa.answering.refusal import probe_says_none, says_nothing
from qa.answering.repair import repair_numbers
from qa.models.generator import _top_logprobs
from qa.text.lexical import new_words
from qa.types import Chunk, Passage


def passage(text: str, lang: str = "en", n: int = 0) -> Passage:
    return Passage(Chunk(f"d#s{n}", "d", lang, 0, len(text), text, ((0, len(text)),)), 0.5, 0.5)


def test_the_probe_reads_p_none_over_the_passage_numbers_only():
    assert none_probability({"0": 0.6, "1": 0.2, "The": 0.2}, 3) == pytest.approx(0.75)
    assert none_probability({" 0": 0.5, "2": 0.5}, 2) == pytest.approx(0.5)  # a leading space is the same choice
    assert none_probability({"0": 0.1, "7": 0.9}, 2) == pytest.approx(1.0)  # 7 is not a passage here
    assert none_probability({"The": 1.0}, 2) is None  # no digit: no signal
    assert probe_says_none(0.5, 0.4) and probe_says_none(0.3, 0.4) is None and probe_says_none(None, 0.4) is None


def test_the_probe_messages_end_with_the_forced_choice():
    messages = choice_messages("Who built it?", [passage("Anna built it."), passage("Bob sold it.", n=1)], "de")
    user = messages[-1]["content"]
    assert user.startswith("Passages:\n[1] Anna built it.\n[2] Bob sold it.")
    assert "Question: Who built it?\n" in user and user.endswith(CHOICE)
    assert "Answer in" not in user


def test_top_logprobs_are_read_from_an_openai_completion():
    data = {"choices": [{"logprobs": {"content": [{"token": "0", "top_logprobs": [{"token": "0", "logprob": 0.0}]}]}}]}
    assert _top_logprobs(data) == {"0": 1.0}
    assert _top_logprobs({"choices": [{"message": {"content": "0"}}]}) == {}


@pytest.mark.parametrize(
    "text, question, adds",
    [
        ("It happened in the field [1].", "In which field did it happen?", False),
        ("The company was founded [1].", "When was the company founded?", False),
        ("Die Firma wurde gegründet [1].", "Wann wurde die Firma gegründet?", False),
        ("It happened in robotics [1].", "In which field did it happen?", True),
        ("She left to do research on safety [1].", "Why did she leave?", True),
        ("Yes, she did [1].", "Did she leave?", True),
        # short words the five-letter prefix rule leaves apart: one stem (Snowball)
        ("The firm hired seven engineers [1].", "Which seven engineers did the firm hire?", False),
        ("The firm hired Anna Berg [1].", "Whom did the firm hire?", True),
    ],
)
def test_an_answer_adds_content_words_in_any_inflection(text, question, adds):
    assert bool(new_words(text, question)) is adds


@pytest.mark.parametrize(
    "sentence",
    [
        "The articles do not say how much he earned.",
        "Die Artikel nennen keine Summe.",  # "nennen ... nicht/keine"
        "لا يوجد معلومات عن راتبه.",
        "لا توجد معلومات عن راتبه.",
        "文章中没有提到他的薪水。",
    ],
)
def test_a_sentence_saying_the_sources_do_not_answer_is_recognised(sentence):
    assert says_nothing(sentence)


def test_a_repaired_number_keeps_the_claims_other_findings():
    """A repair rewrites a number; a marker standing in for the answer is still seen afterwards."""
    claim = Claim(text="It cost 66 billion dollars and went to", cited=(1,), marker_as_content=True)
    repaired = repair_numbers(claim, [[6.6e9]], [], "en")
    assert repaired.repaired and "6.6 billion" in repaired.text
    assert repaired.marker_as_content and repaired.written == claim.text
