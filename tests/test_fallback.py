"""The answer of last resort: when the model's answer fails its checks (or it refuses) but the
best evidence sentence is close to the question, that sentence answers, in the asker's
language, checked like any answer and cited to itself. Fast: a tiny corpus, the HashEmbedder
and a scripted generator stand in for the models; the logic under test is the product's."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import HashEmbedder, tmp_config

from qa.answering import judge
from qa.answering.assistant import Assistant
from qa.answering.pipeline import Pipeline
from qa.answering.refusal import abstain_text
from qa.types import Answer, Reason

EN = (
    "Harbour city opens a tram line\n\n"
    "The city of Norhaven opened its first tram line on Monday after four years of work. "
    "The line cost 310 million euros and carries 40,000 passengers a day.\n"
)


class ScriptedGenerator:
    """Returns the scripted replies in order and records the requests; the judge of a cited
    passage (qa.answering.judge) says `yes` with probability `yes`."""

    def __init__(self, *replies: str, yes: float = 0.9):
        self.replies, self.requests, self.judged, self.yes = list(replies), [], [], yes

    def stream(self, messages, max_tokens, temperature):
        self.requests.append(messages)
        yield self.replies.pop(0)

    def first_token_probs(self, messages, top=20):
        assert messages[0]["content"] == judge.SYSTEM, "only the judge asks for a first token here"
        self.judged.append(messages)
        return {"yes": self.yes, "no": 1 - self.yes}


@pytest.fixture
def assistant(tmp_path: Path) -> Assistant:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "tram.txt").write_text(EN, encoding="utf-8")
    a = Assistant(tmp_config(tmp_path))
    a._embedder = HashEmbedder()
    return a


def from_evidence(assistant: Assistant, question: str, best, before: Answer) -> Answer:
    pipeline = Pipeline(assistant.cfg, assistant.store, assistant.embedder, assistant._generator)
    return pipeline.from_evidence(question, "en", best, before)


def refused(question: str, lang: str) -> Answer:
    return Answer(
        question,
        abstain_text(lang),
        [],
        [],
        True,
        lang,
        notes=["the model found no answer"],
        abstain_reason=Reason.MODEL_REFUSED,
    )


def best_sentence(assistant: Assistant, needle: str):
    store = assistant.store
    from qa.types import Passage

    units, _ = store.sentences_of([d.id for d in store.documents()])
    unit = next(s for s in units if needle in s.text)
    return Passage(chunk=unit, score=0.9, dense=0.9)


def test_a_sentence_in_the_askers_language_is_quoted_and_cited(assistant):
    assistant._generator = ScriptedGenerator()  # must not generate: only its judge is asked
    best = best_sentence(assistant, "310 million")
    question = "How much did the tram line cost?"
    answer = from_evidence(assistant, question, best, refused(question, "en"))
    assert not answer.abstained and answer.from_evidence
    assert "310 million euros" in answer.text and answer.text.endswith("[1].")
    assert [c.chunk_id for c in answer.citations] == [best.chunk.id]
    assert "answered from the best evidence sentence" in answer.notes
    assert assistant._generator.requests == [] and len(assistant._generator.judged) == 1


def test_a_sentence_the_judge_says_does_not_answer_is_no_fallback(assistant):
    """The best sentence is close to the question, but judged alone it does not answer it."""
    assistant._generator = ScriptedGenerator(yes=0.2)
    best = best_sentence(assistant, "310 million")
    before = refused("How much did the tram line cost?", "en")
    answer = from_evidence(assistant, before.question, best, before)
    assert answer is before and answer.abstained
    [asked] = assistant._generator.judged
    assert "310 million euros" in asked[-1]["content"] and before.question in asked[-1]["content"]


def as_german(passage):
    """The same sentence, labelled as a German article's (so the fallback must translate it)."""
    from dataclasses import replace

    return replace(passage, chunk=replace(passage.chunk, lang="de"))


def test_another_language_is_translated_then_checked(assistant):
    best = as_german(best_sentence(assistant, "310 million"))
    # the scripted "translation" keeps the sentence's words: the fake embedder compares trigrams
    assistant._generator = ScriptedGenerator(best.chunk.text)
    question = "How much did the tram line cost?"
    answer = from_evidence(assistant, question, best, refused(question, "en"))
    [request] = assistant._generator.requests
    assert request[-1]["content"].startswith("Translate into English:") and "310 million" in request[-1]["content"]
    assert not answer.abstained and "310 million" in answer.text
    assert [c.chunk_id for c in answer.citations] == [best.chunk.id]


def test_a_translation_that_changes_a_number_is_not_an_answer(assistant):
    best = as_german(best_sentence(assistant, "310 million"))
    assistant._generator = ScriptedGenerator(best.chunk.text.replace("310 million", "370 million"))
    before = refused("How much did the tram line cost?", "en")
    answer = from_evidence(assistant, before.question, best, before)
    assert answer is before and answer.abstained  # the checks caught it: still "the articles don't say"
