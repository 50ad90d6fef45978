"""A draft that loops is stopped and kept to its first copy (qa.text.repetition, qa.answering.draft)."""

from __future__ import annotations

import pytest

from qa.answering.draft import Drafter
from qa.answering.timings import Timings
from qa.config import DraftSettings
from qa.text.repetition import loop_start

SPAN = DraftSettings().loop_chars
ARABIC_UNIT = " مصممة لتحسين مهارات تعلم متن"


@pytest.mark.parametrize(
    "text, kept",
    [
        ("جون شولمان هو مشارك في تطوير" + ARABIC_UNIT * 5, "جون شولمان هو مشارك في تطوير" + ARABIC_UNIT),
        ("The amount was 1" + "0" * 60, "The amount was 10"),
        ("他加入了公司，" + "并且研究了模型的安全，" * 4, "他加入了公司，并且研究了模型的安全，"),
    ],
    ids=["arabic-phrase", "zeros", "chinese-clause"],
)
def test_a_text_ending_in_a_loop_is_cut_after_its_first_copy(text, kept):
    start = loop_start(text, SPAN)
    assert start is not None and text[:start] == kept


@pytest.mark.parametrize(
    "text",
    [
        "Meta paid 1,000,000,000 dollars, and OpenAI raised 6.6 billion dollars [1].",
        "He laughed: ha ha ha [2].",
        "Er sagte: „Nein, nein, nein.“ [1]",
        "Die Firma wuchs von 10 auf 100 auf 1000 Mitarbeiter [1].",
        "",
        "x",
    ],
)
def test_ordinary_answers_are_no_loop(text):
    assert loop_start(text, SPAN) is None


def test_a_loop_shorter_than_the_span_is_no_loop_until_it_grows():
    unit = "abc "
    assert loop_start(unit * 3, SPAN) is None  # three copies, 12 characters
    assert loop_start(unit * 8, SPAN) == len(unit)  # 32 characters


class LoopingGenerator:
    """Streams a reply that falls into a loop and would go on for 400 pieces; records how many
    pieces were taken and whether the stream was closed (which stops a real model)."""

    def __init__(self, head: str, unit: str, pieces: int = 400):
        self.head, self.unit, self.total = head, unit, pieces
        self.taken, self.closed = 0, False

    def stream(self, messages, max_tokens, temperature):
        try:
            yield self.head
            self.taken += 1
            for _ in range(self.total):
                yield self.unit
                self.taken += 1
        finally:
            self.closed = True


def test_the_drafter_stops_a_looping_model_and_keeps_the_first_copy():
    gen = LoopingGenerator("Er ist Forscher", " und er forscht an Modellen")
    drafter = Drafter(gen, DraftSettings())
    stream = drafter.stream([{"role": "user", "content": "?"}], Timings())
    shown = []
    try:
        while True:
            shown.append(next(stream).text)
    except StopIteration as done:
        text = done.value
    assert text == "Er ist Forscher und er forscht an Modellen"
    assert gen.closed and gen.taken < 5  # stopped at the third copy, not after 400
    assert "".join(shown).startswith(text)  # what was shown while it streamed


def test_a_whole_reply_that_loops_is_cut_too():
    gen = LoopingGenerator("1", "0")
    drafter = Drafter(gen, DraftSettings())
    assert drafter.complete([{"role": "user", "content": "?"}]) == "10"
    assert gen.closed and gen.taken <= SPAN + 1


def test_a_reply_that_does_not_loop_is_read_to_its_end():
    gen = LoopingGenerator("Sie gründete die Firma", " im Jahr 2011 [1].", pieces=1)
    drafter = Drafter(gen, DraftSettings())
    assert drafter.complete([{"role": "user", "content": "?"}]) == "Sie gründete die Firma im Jahr 2011 [1]."
    assert gen.taken == 2
