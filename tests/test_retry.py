"""A second answer asked for when verification removed a sentence for an error the model can fix
(a number or name not in the passages): the error is named in the request, and the better of
the two answers is kept. Fast: a tiny corpus, the HashEmbedder and a scripted generator stand in
for the models; the logic under test is the product's."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.types import Answer, Reason, SourcesFound, TextDelta

from conftest import HashEmbedder, tmp_config
from test_fallback import EN, ScriptedGenerator

QUESTION = "How much did the tram line in Norhaven cost?"


@pytest.fixture
def assistant(tmp_path: Path) -> Assistant:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "tram.txt").write_text(EN, encoding="utf-8")
    a = Assistant(tmp_config(tmp_path, min_relevance=-1.0, fallback_cosine=2.0))
    a._embedder = HashEmbedder()
    return a


def run(assistant: Assistant) -> tuple[list, Answer]:
    events = list(assistant.stream(QUESTION))
    assert isinstance(events[0], SourcesFound) and isinstance(events[-1], Answer)
    return events, events[-1]


def test_a_wrong_number_gets_a_second_answer_that_names_it(assistant):
    gen = assistant._generator = ScriptedGenerator(
        "The tram line cost 350 million euros [1].",
        "The tram line in Norhaven cost 310 million euros [1].")
    events, answer = run(assistant)
    assert not answer.abstained and "310 million euros" in answer.text
    assert len(gen.requests) == 2
    ask = gen.requests[1][-1]["content"]
    assert "350" in ask and gen.requests[1][-2] == {"role": "assistant", "content": "The tram line cost 350 million euros [1]."}
    assert [r.reason for r in answer.removed] == [Reason.NUMBER_NOT_IN_SOURCES]
    assert "retry" in answer.timings
    # what was streamed is the first answer; the final Answer carries the checked one
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).startswith("The tram line cost 350")


def test_the_first_answer_stays_when_the_second_is_no_better(assistant):
    gen = assistant._generator = ScriptedGenerator(
        "The tram line cost 350 million euros [1].",
        "The tram line cost 999 million euros [1].")
    _, answer = run(assistant)
    assert answer.abstained and answer.abstain_reason is Reason.NOTHING_SUPPORTED
    assert len(gen.requests) == 2


def test_a_supported_answer_is_not_asked_again(assistant):
    gen = assistant._generator = ScriptedGenerator("The tram line in Norhaven cost 310 million euros [1].")
    _, answer = run(assistant)
    assert not answer.abstained and len(gen.requests) == 1 and "retry" not in answer.timings


def test_a_refusal_is_not_asked_again(assistant):
    gen = assistant._generator = ScriptedGenerator("The articles do not say.")
    _, answer = run(assistant)
    assert answer.abstained and len(gen.requests) == 1
    assert all(r.reason is Reason.SAYS_SOURCES_DO_NOT_ANSWER for r in answer.removed)


def test_retries_zero_turns_it_off(assistant):
    assistant.cfg = assistant.cfg.with_(retries=0)
    gen = assistant._generator = ScriptedGenerator("The tram line cost 350 million euros [1].")
    _, answer = run(assistant)
    assert answer.abstained and len(gen.requests) == 1
