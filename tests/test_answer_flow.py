"""The answer path's control flow (issue 19): refusal gate → draft → language rewrite → checks →
cite → fallback, and two-part questions joined, through Assistant.stream/answer and Pipeline.

Fast and deterministic: two tiny articles, and only the two models replaced (as in
test_fallback.py): the embedder by the HashEmbedder of conftest (with 1024 dimensions, so that
trigram overlap rather than hash collisions decides the cosines: with the default 32 an invented
name is an "alias" of some passage word), the generator by a ScriptedGenerator that streams given replies
in pieces and records every request. Everything between them is the product's code.

The calibrated thresholds are set explicitly (BASE), so a recalibration does not change these
tests. With this embedder the cosines the tests rely on are (printed while writing them):
question → best chunk: "Who founded Kestrel Robotics?" 0.64, "How much did the tram line cost?"
0.31, "What is the recipe for a lemon cake?" 0.13 (gate at 0.5 in the NOT_RELEVANT test); the
tram question's best evidence sentence is the cost sentence, 0.27 (the fallback test reads it);
kept sentences → the passage they cite 0.46–0.90 (support_threshold 0.40; the lowest, "The line
cost 520 million euros." 0.46, only where the numbers check is off); "Ice cream melts in July."
≤ 0.11 to every passage; "Jurgis", "Dubrovsky" 0.00 to every passage word (alias_cosine 0.40).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import HashEmbedder, tmp_config

from qa.answering import judge
from qa.answering.assistant import Assistant
from qa.answering.pipeline import Pipeline
from qa.answering.prompts import rewrite_request
from qa.answering.refusal import abstain_text, not_answered_text
from qa.answering.timings import Timings
from qa.config import PRESETS, Config, load_config
from qa.types import Answer, Evidence, Reason, SourcesFound, TextDelta

TRAM = (
    "Harbour city opens a tram line\n\n"
    "The city of Norhaven opened its first tram line on Monday after four years of work. "
    "The line cost 310 million euros and carries 40,000 passengers a day.\n"
)
KESTREL = (
    "Kestrel Robotics changes hands\n\n"
    "Kestrel Robotics was founded by Maria Olsen in March 2011. "
    "Vantor Labs paid 45 million dollars for Kestrel Robotics last week.\n"
)

COST = "The line cost 310 million euros"  # the tram article's cost sentence (starts with)
OPENED = "The city of Norhaven opened"
TITLE = "Harbour city opens a tram line"
FOUNDED = "founded by Maria Olsen"
PAID = "Vantor Labs paid 45 million"

TRAM_Q = "How much did the tram line cost?"
KESTREL_Q = "Who founded Kestrel Robotics?"
TWO_PART_Q = "Who founded Kestrel Robotics, and how much did Vantor Labs pay for it?"
PART_1, PART_2 = "Who founded Kestrel Robotics?", "How much did Vantor Labs pay for it?"
INVENTED = "Jurgis Dubrovsky"  # a name no article has

# Every setting these tests depend on, set here (not read from the environment or the calibration).
BASE = dict(
    store__engine="faiss",
    retrieval__min_relevance=0.05,
    checks__support_threshold=0.40,
    checks__fallback_cosine=1.1,
    checks__alias_cosine=0.40,
    checks__sound_alias_cosine=0.25,
    retrieval__top_k=4,
    evidence__sentences=4,
    evidence__budget=600,
    evidence__context=False,
    evidence__margin=None,
    evidence__redundancy=0.0,
    draft__split_questions=True,
    draft__whole_first=False,  # section 6 switches it on where it tests the whole question first
    retrieval__use_lexical=True,
)


def embedder() -> HashEmbedder:
    return HashEmbedder("answer-flow", dim=1024)


class ScriptedGenerator:
    """Stands in for the generator: the scripted replies in order, each streamed in pieces, and a
    record of every request. A reply is a string (streamed word by word), a list of pieces
    (streamed as given), or a function of the request's messages returning either. A request
    beyond the script fails the test."""

    def __init__(self, *replies, choice: dict[str, float] | None = None, verdict: dict[str, float] | None = None):
        self.replies, self.requests, self.probes, self.judged = list(replies), [], [], []
        # the forced choice's first-token probabilities (qa.answering.probe): by default passage 1
        self.choice = {"1": 0.9, "0": 0.1} if choice is None else choice
        # the judge's yes/no on one cited passage (qa.answering.judge): by default "it answers"
        self.verdict = {"yes": 0.9, "no": 0.1} if verdict is None else verdict

    def first_token_probs(self, messages, top=20):
        if messages[0]["content"] == judge.SYSTEM:
            self.judged.append(messages)
            return dict(self.verdict(messages) if callable(self.verdict) else self.verdict)
        return self.choose(messages)

    def choose(self, messages):
        self.probes.append(messages)
        return dict(self.choice)

    def stream(self, messages, max_tokens, temperature):
        self.requests.append(messages)
        if not self.replies:
            raise AssertionError(f"unexpected generator request: {messages[-1]['content'][:300]!r}")
        reply = self.replies.pop(0)
        if callable(reply):
            reply = reply(messages)
        yield from (reply if isinstance(reply, list) else re.findall(r"\s*\S+", reply))


def number_of(messages: list[dict], needle: str) -> int:
    """The number [n] under which the prompt gave the model the passage containing `needle`."""
    prompt = next(m["content"] for m in messages if m["role"] == "user" and m["content"].startswith("Passages:"))
    for n, text in re.findall(r"^\[(\d+)\] (.*)$", prompt, re.MULTILINE):
        if needle in text:
            return int(n)
    raise AssertionError(f"no passage with {needle!r} in the prompt:\n{prompt}")


def draft(template: str, **needles: str):
    """A reply citing passages by content: draft("… [{cost}].", cost=COST) cites the number the
    prompt gave the cost sentence (the order of the evidence is the product's business)."""
    return lambda messages: template.format(**{k: number_of(messages, v) for k, v in needles.items()})


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The two articles with their index (built once for the module with the test embedder)."""
    root = tmp_path_factory.mktemp("answer_flow")
    (root / "seeds").mkdir()
    (root / "seeds" / "tram.txt").write_text(TRAM, encoding="utf-8")
    (root / "seeds" / "kestrel.txt").write_text(KESTREL, encoding="utf-8")
    a = Assistant(tmp_config(root, **BASE))
    a._embedder = embedder()
    assert a.store.count()
    return root


@pytest.fixture
def make(root):
    """make(**overrides) → an Assistant on the module's corpus, BASE settings plus `overrides`."""

    def make(preset: str = "default", **overrides) -> Assistant:
        # BASE, then the preset's own settings (which win over BASE), then the test's
        dirs = dict(seeds_dir=root / "seeds", uploads_dir=root / "uploads", index_dir=root / "index")
        cfg = Config().with_(**dirs, **BASE).with_(name=preset, **PRESETS[preset]).with_(**overrides)
        a = Assistant(cfg)
        a._embedder = embedder()
        return a

    return make


def ask(assistant: Assistant, question: str, *replies, choice: dict[str, float] | None = None, verdict=None):
    """Stream the answer with the generator scripted; (the Answer, every event, the generator).
    Every scripted reply must have been asked for."""
    assistant._generator = gen = ScriptedGenerator(*replies, choice=choice, verdict=verdict)
    events = list(assistant.stream(question))
    assert not gen.replies, f"scripted replies never asked for: {gen.replies}"
    assert isinstance(events[-1], Answer)
    return events[-1], events, gen


def deltas(events) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def cited_chunks(answer: Answer) -> list[str]:
    return [c.chunk_id for c in answer.citations]


def chunk_with(assistant: Assistant, needle: str) -> str:
    units, _ = assistant.store.sentences_of([d.id for d in assistant.store.documents()])
    return next(u.id for u in units if needle in u.text)


# -- 1. the refusal gate: nothing relevant, nothing generated ------------------------------------


def test_a_question_far_from_every_article_is_refused_before_generating(make):
    a = make(min_relevance=0.5)
    answer, events, gen = ask(a, "What is the recipe for a lemon cake?")  # no reply scripted: none may be asked
    assert gen.requests == []
    assert answer.abstained and answer.abstain_reason is Reason.NOT_RELEVANT
    assert answer.text == abstain_text("en") and answer.citations == []
    assert isinstance(events[0], SourcesFound) and events[0].passages  # the closest passages are still shown:
    assert all("#s" not in p.chunk.id for p in events[0].passages)  # the retrieved chunks (not evidence sentences)
    assert [type(e) for e in events] == [SourcesFound, Answer]
    assert any("best match" in n for n in answer.notes)
    # the gate is what refused: a question close to an article passes it under the same settings
    answer, _, gen = ask(a, KESTREL_Q, draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED))
    assert len(gen.requests) == 1 and not answer.abstained


def test_no_retrieved_passage_is_not_relevant_whatever_the_minimum(make):
    """Pipeline alone: an empty retrieval refuses even where min_relevance lets everything through."""
    a = make(min_relevance=-1.0)
    gen = ScriptedGenerator()
    pipeline = Pipeline(a.cfg, a.store, a.embedder, gen)
    run = pipeline.answer(TRAM_Q, "en", Evidence([], [], None, 0.9), [], Timings())
    with pytest.raises(StopIteration) as stop:
        next(run)
    answer = stop.value.value
    assert answer.abstained and answer.abstain_reason is Reason.NOT_RELEVANT and gen.requests == []


# -- 1b. the refusal gate: the model's forced choice says no passage states the answer -----------

NONE = {"0": 0.7, "1": 0.2, "2": 0.1}  # 0.70 on "no passage"; the default gate is 0.40


def test_the_probe_refuses_before_generating_when_no_passage_states_the_answer(make):
    answer, events, gen = ask(make(), KESTREL_Q, choice=NONE)  # no reply scripted: none may be asked
    assert gen.requests == [] and len(gen.probes) == 1
    assert answer.abstained and answer.abstain_reason is Reason.NOT_STATED
    assert answer.text == abstain_text("en") and answer.citations == []
    assert [type(e) for e in events] == [SourcesFound, Answer]
    assert any("0.70" in n for n in answer.notes)


def test_below_the_threshold_the_model_answers(make):
    reply = draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED)
    answer, _, gen = ask(make(checks__probe_none=0.8), KESTREL_Q, reply, choice=NONE)
    assert not answer.abstained and len(gen.probes) == 1 and len(gen.requests) == 1


# -- 1c. the judge: each cited passage, alone, must answer the question ----------------------------

NO = {"no": 0.7, "yes": 0.3}  # P(yes) 0.30; the default line is CheckSettings.answers_yes


def test_a_sentence_whose_cited_passage_does_not_answer_the_question_is_removed(make):
    """The neighbouring fact: the passage states an amount, the model says it is not the asked one."""
    reply = draft("Maria Olsen earns 45 million dollars [{p}].", p=PAID)
    answer, _, gen = ask(make(), "How much does Maria Olsen earn?", reply, verdict=NO)
    assert answer.abstained and answer.abstain_reason is Reason.NOTHING_SUPPORTED
    assert [r.reason for r in answer.removed] == [Reason.DOES_NOT_ANSWER]
    assert "0.30" in answer.removed[0].detail
    # the judge saw the cited passage and the question, not the model's answer
    [[system, user]] = gen.judged[:1]
    assert system["content"] == judge.SYSTEM and PAID in user["content"]
    assert "How much does Maria Olsen earn?" in user["content"] and "earns 45" not in user["content"]


def test_the_judge_is_asked_once_per_cited_passage(make):
    reply = draft("Kestrel Robotics was founded by Maria Olsen [{f}]. She founded it in 2011 [{f}].", f=FOUNDED)
    answer, _, gen = ask(make(), KESTREL_Q, reply)
    assert not answer.abstained and "Maria Olsen" in answer.text
    assert len(gen.judged) == 1


def test_a_yes_at_the_line_keeps_the_sentence_and_no_signal_is_no_verdict(make):
    reply = draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED)
    line = make().cfg.checks.answers_yes
    for verdict in ({"yes": line, "no": 1 - line}, {"Maria": 0.9}):  # the second has neither yes nor no
        answer, _, gen = ask(make(), KESTREL_Q, reply, verdict=verdict)
        assert not answer.abstained and len(gen.judged) == 1


def test_the_answers_check_switched_off_asks_no_judge(make):
    reply = draft("Maria Olsen earns 45 million dollars [{p}].", p=PAID)
    answer, _, gen = ask(make(checks__off=("answers",)), "How much does Maria Olsen earn?", reply, verdict=NO)
    assert gen.judged == [] and not answer.abstained


def test_the_probe_is_the_answering_prompt_up_to_its_last_line(make):
    """Same system turn and passages as the answer that follows: llama.cpp's prompt cache serves
    that prefix to the answer, so the probe costs only its own last line."""
    reply = draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED)
    _, _, gen = ask(make(), KESTREL_Q, reply)
    probe, answering = gen.probes[0], gen.requests[0]
    assert probe[:-1] == answering[:-1]
    head = answering[-1]["content"].rsplit("\n", 1)[0]
    assert probe[-1]["content"].startswith(head) and "or 0 if no passage" in probe[-1]["content"]


def test_the_probe_switched_off_is_not_asked(make):
    reply = draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED)
    answer, _, gen = ask(make(checks__off=("probe",)), KESTREL_Q, reply, choice=NONE)
    assert gen.probes == [] and not answer.abstained


def test_a_probe_without_a_digit_among_its_likely_tokens_refuses_nothing(make):
    reply = draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED)
    answer, _, _ = ask(make(), KESTREL_Q, reply, choice={"The": 0.9, "None": 0.1})
    assert not answer.abstained


def test_a_part_the_probe_refuses_is_named_and_the_other_part_answered(make):
    """Two parts, two probes: the first says "none", the second names a passage."""
    a = make()
    a._generator = gen = ScriptedGenerator(draft("Vantor Labs paid 45 million dollars [{p}].", p=PAID))
    choices = iter([NONE, {"1": 0.9, "0": 0.1}])
    gen.choose = lambda messages: gen.probes.append(messages) or next(choices)
    answer = a.answer(TWO_PART_Q)
    assert not answer.abstained and len(gen.probes) == 2
    assert not_answered_text(PART_1, "en") in answer.text and "45 million" in answer.text


# -- 1d. the asked kind: a time for "when", a count (not money) for "how many" ------------------------


def test_a_sentence_that_places_nothing_in_time_does_not_answer_when(make):
    """The neighbouring fact: asked when, the model gives the price (every other check passes)."""
    question = "When did Vantor Labs buy Kestrel Robotics?"
    reply = draft("Vantor Labs paid 45 million dollars for Kestrel Robotics [{p}].", p=PAID)
    answer, _, _ = ask(make(), question, reply)
    assert answer.abstained and [r.reason for r in answer.removed] == [Reason.WRONG_KIND]
    answer, _, _ = ask(make(checks__off=("kind",)), question, reply)
    assert not answer.abstained
    reply = draft("Vantor Labs bought Kestrel Robotics last week [{p}].", p=PAID)
    answer, _, _ = ask(make(), question, reply)
    assert not answer.abstained and answer.text == "Vantor Labs bought Kestrel Robotics last week [1]."


def test_an_amount_of_money_does_not_answer_how_many(make):
    question = "How many passengers does the tram line carry a day?"
    answer, _, _ = ask(make(), question, draft("The line cost 310 million euros [{c}].", c=COST))
    assert answer.abstained and [r.reason for r in answer.removed] == [Reason.WRONG_KIND]
    answer, _, _ = ask(make(), question, draft("The line carries 40,000 passengers a day [{c}].", c=COST))
    assert not answer.abstained and answer.text == "The line carries 40,000 passengers a day [1]."


def test_a_bare_year_asked_when_gets_the_month_its_passage_dates_it_to(make):
    """Value copying for dates: the model writes "in 2011" where its passage says "in March 2011"."""
    question = "When was Kestrel Robotics founded?"
    reply = draft("Kestrel Robotics was founded in 2011 [{f}].", f=FOUNDED)
    answer, _, _ = ask(make(), question, reply)
    assert answer.text == "Kestrel Robotics was founded in March 2011 [1]."
    answer, _, _ = ask(make(checks__off=("repair_dates",)), question, reply)
    assert answer.text == "Kestrel Robotics was founded in 2011 [1]."
    # cited to the passage of the sale, re-cited to the one that states the year, dated from that
    mk = make()
    answer, _, _ = ask(mk, question, draft("Kestrel Robotics was founded in 2011 [{p}].", p=PAID))
    assert answer.text == "Kestrel Robotics was founded in March 2011 [1]."
    assert cited_chunks(answer) == [chunk_with(mk, FOUNDED)]
    # not asked when: the sentence stays as the model wrote it
    answer, _, _ = ask(make(), KESTREL_Q, draft("Maria Olsen founded it in 2011 [{f}].", f=FOUNDED))
    assert answer.text == "Maria Olsen founded it in 2011 [1]."


def test_asked_which_year_a_time_relative_to_the_asked_event_does_not_answer(make):
    """ "In which year …?" is answered by a year, a month or a calendar unit; "since its founding"
    places the founding after itself and passes for "when" only."""
    reply = draft("Kestrel Robotics has grown since its founding [{f}].", f=FOUNDED)
    answer, _, _ = ask(make(), "In which year was Kestrel Robotics founded?", reply)
    assert answer.abstained and [r.reason for r in answer.removed] == [Reason.WRONG_KIND]
    answer, _, _ = ask(make(), "When was Kestrel Robotics founded?", reply)
    assert not answer.abstained
    answer, _, _ = ask(
        make(), "In which year was Kestrel Robotics founded?", draft("It was founded in 2011 [{f}].", f=FOUNDED)
    )
    assert answer.text == "It was founded in March 2011 [1]."  # dated like an answer to "when"


def test_a_one_word_answer_the_passages_do_not_give_is_removed_as_unsupported(make):
    """A lone name that opens a sentence is no name to the names check, and the judge reads the
    passage, not the answer: the low cosine of "Dubrovsky." to the passage it cites is what removes
    it. (Read together with its question, such a fragment would pass on the question alone.)"""
    answer, _, _ = ask(make(), KESTREL_Q, draft("Dubrovsky [{f}].", f=FOUNDED))
    assert answer.abstained and [r.reason for r in answer.removed] == [Reason.UNSUPPORTED]


# -- 2. the model refuses: held back, never shown ------------------------------------------------


@pytest.mark.parametrize(
    "pieces",
    [["NOT", "_FOU", "ND"], ["NOT_FOUND", "."], ["NOT", " FOUND"], ["NOT FOUND"], [""], []],
    ids=["NOT_FOUND", "NOT_FOUND.", "NOT FOUND", "NOT FOUND one piece", "empty piece", "nothing"],
)
def test_a_model_refusal_is_model_refused_and_never_streamed(make, pieces):
    answer, events, gen = ask(make(), TRAM_Q, pieces)
    assert answer.abstained and answer.abstain_reason is Reason.MODEL_REFUSED
    assert answer.text == abstain_text("en") and not answer.from_evidence
    assert deltas(events) == []  # the hold-back: not a character of the refusal was shown
    assert len(gen.requests) == 1


@pytest.mark.parametrize("pieces", [["not", " found"], ["NOT", " FO", "UND"]], ids=["not found", "NOT FO+UND"])
def test_every_refusal_spelling_is_held_back(make, pieces):
    answer, events, _ = ask(make(), TRAM_Q, pieces)
    assert answer.abstain_reason is Reason.MODEL_REFUSED  # is_refusal reads it as a refusal …
    assert deltas(events) == []  # … and not a character of it was shown


# -- 3. nothing supported -----------------------------------------------------------------------


def test_a_draft_whose_every_sentence_fails_is_nothing_supported_with_typed_removals(make):
    reply = draft(
        f"The line cost 520 million euros [{{c}}]. It was opened by mayor {INVENTED} [{{o}}].", c=COST, o=OPENED
    )
    answer, events, _ = ask(make(), TRAM_Q, reply)
    assert answer.abstained and answer.abstain_reason is Reason.NOTHING_SUPPORTED
    assert answer.text == abstain_text("en") and answer.citations == [] and not answer.from_evidence
    assert [(r.text, r.reason) for r in answer.removed] == [
        ("The line cost 520 million euros.", Reason.NUMBER_NOT_IN_SOURCES),
        (f"It was opened by mayor {INVENTED}.", Reason.NAME_NOT_IN_SOURCES),
    ]
    assert "520" in answer.removed[0].detail and "Jurgis, Dubrovsky" in answer.removed[1].detail
    assert deltas(events)  # the draft was streamed as it came (the Answer then replaces it)


# -- 4. one sentence removed, another kept ------------------------------------------------------


def test_a_failing_sentence_is_removed_and_the_supported_one_kept_and_cited(make):
    a = make()
    reply = draft(
        f"The line cost 310 million euros [{{c}}]. It was opened by mayor {INVENTED} [{{o}}].", c=COST, o=OPENED
    )
    answer, _, _ = ask(a, TRAM_Q, reply)
    assert not answer.abstained and answer.abstain_reason is None
    assert answer.text == "The line cost 310 million euros [1]."
    assert cited_chunks(answer) == [chunk_with(a, COST)]
    assert answer.citations[0].n == 1 and "310 million euros" in answer.citations[0].quote
    assert [(r.text, r.reason) for r in answer.removed] == [
        (f"It was opened by mayor {INVENTED}.", Reason.NAME_NOT_IN_SOURCES)
    ]
    assert any(f"It was opened by mayor {INVENTED}." in n for n in answer.notes)


# -- 5. the fallback: the best evidence sentence answers ----------------------------------------

WRONG_COST = draft("The line cost 520 million euros [{c}].", c=COST)


@pytest.mark.parametrize(
    "reply, reason",
    [(WRONG_COST, Reason.NOTHING_SUPPORTED), (["NOT_FOUND"], Reason.MODEL_REFUSED)],
    ids=["draft fails its checks", "model refuses"],
)
def test_the_best_evidence_sentence_answers_when_it_is_close_enough(make, reply, reason):
    a = make()
    best = a.select_evidence(TRAM_Q).best
    assert best.chunk.text.startswith(COST)  # with this embedder the cost sentence is the closest (0.27)
    # exactly at the threshold: the fallback applies (best.score >= fallback_cosine)
    answer, _, gen = ask(make(fallback_cosine=best.score), TRAM_Q, reply)
    assert not answer.abstained and answer.from_evidence and answer.abstain_reason is None
    assert answer.text == "The line cost 310 million euros and carries 40,000 passengers a day [1]."
    assert cited_chunks(answer) == [best.chunk.id]
    assert best.chunk.id in [p.chunk.id for p in answer.sources]
    assert "answered from the best evidence sentence" in answer.notes
    assert len(gen.requests) == 1  # an English sentence for an English question: no translation asked
    if reason is Reason.NOTHING_SUPPORTED:
        assert [(r.text, r.reason) for r in answer.removed] == [
            ("The line cost 520 million euros.", Reason.NUMBER_NOT_IN_SOURCES)
        ]
    # just above the best sentence's cosine the refusal stands
    answer, _, _ = ask(make(fallback_cosine=best.score + 1e-3), TRAM_Q, reply)
    assert answer.abstained and answer.abstain_reason is reason and not answer.from_evidence
    # and with the fallback switched off by name, however close the sentence is
    answer, _, _ = ask(make(fallback_cosine=0.0, checks__off=("fallback",)), TRAM_Q, reply)
    assert answer.abstained and answer.abstain_reason is reason and not answer.from_evidence


def test_the_fallback_sentence_is_checked_like_a_draft(make):
    """A question that is the best sentence itself: the sentence adds nothing to it, so it is no
    answer either, and the refusal stands."""
    question = "The line cost 310 million euros and carries 40,000 passengers a day?"
    a = make(fallback_cosine=0.1)
    best = a.select_evidence(question).best
    assert best.chunk.text.startswith(COST) and best.score >= 0.1  # the fallback applies …
    answer, _, _ = ask(a, question, ["NOT_FOUND"])
    assert answer.abstained and answer.abstain_reason is Reason.MODEL_REFUSED  # … and fails its checks
    assert not answer.from_evidence and answer.citations == []


def test_the_fallback_sentence_is_added_to_the_sources_when_the_model_was_given_passages(make):
    """In the `passages` configuration the model is given whole chunks; the fallback's sentence is
    not among them and is added to what the answer shows it was written from."""
    a = make("passages", fallback_cosine=0.1)
    answer, events, _ = ask(a, TRAM_Q, WRONG_COST)
    sentence = chunk_with(a, COST)
    assert answer.from_evidence and cited_chunks(answer) == [sentence]
    assert sentence not in [p.chunk.id for p in events[0].passages]  # the model was given chunks …
    assert [p.chunk.id for p in answer.sources][-1] == sentence  # … and the sentence is added to them


# -- 6. two-part questions ----------------------------------------------------------------------

PART_1_DRAFT = draft("Kestrel Robotics was founded by Maria Olsen [{f}].", f=FOUNDED)
# part 2 cites the founding sentence too, after the payment: its local [1]/[2] swap when joined
PART_2_DRAFT = draft(
    "Vantor Labs paid 45 million dollars for it [{p}]. Maria Olsen founded it [{f}].", p=PAID, f=FOUNDED
)


def test_a_two_part_question_is_answered_part_by_part_and_joined(make):
    a = make()
    answer, events, gen = ask(a, TWO_PART_Q, PART_1_DRAFT, PART_2_DRAFT)
    assert asked(gen) == [PART_1, PART_2]
    # the second part is asked with the first part's exchange before it (to resolve "it")
    assert {"role": "user", "content": PART_1} in gen.requests[1]
    assert not answer.abstained and answer.question == TWO_PART_Q
    assert answer.text == (
        "Kestrel Robotics was founded by Maria Olsen [1]. "
        "Vantor Labs paid 45 million dollars for it [2]. Maria Olsen founded it [1]."
    )
    assert cited_chunks(answer) == [chunk_with(a, FOUNDED), chunk_with(a, PAID)]  # one number per source
    assert [c.n for c in answer.citations] == [1, 2]
    # streamed: part 1's draft, a separator, part 2's draft
    texts = deltas(events)
    first = gen.requests[0]
    part_1 = PART_1_DRAFT(first)
    split = next(i for i in range(len(texts) + 1) if "".join(texts[:i]) == part_1)
    assert texts[split] == " " and "".join(texts[split + 1 :]) == PART_2_DRAFT(gen.requests[1])


def test_a_refused_part_is_named_and_the_other_part_answered(make):
    a = make()
    answer, _, _ = ask(a, TWO_PART_Q, PART_1_DRAFT, ["NOT_FOUND"])
    assert not answer.abstained and answer.abstain_reason is None
    assert answer.text == f"Kestrel Robotics was founded by Maria Olsen [1]. {not_answered_text(PART_2, 'en')}"
    assert cited_chunks(answer) == [chunk_with(a, FOUNDED)]

    answer, _, _ = ask(a, TWO_PART_Q, ["NOT_FOUND"], draft("Vantor Labs paid 45 million dollars for it [{p}].", p=PAID))
    assert not answer.abstained
    assert answer.text == f"{not_answered_text(PART_1, 'en')} Vantor Labs paid 45 million dollars for it [1]."
    assert cited_chunks(answer) == [chunk_with(a, PAID)]


def test_a_two_part_question_is_refused_only_when_both_parts_are(make):
    answer, _, gen = ask(make(), TWO_PART_Q, ["NOT_FOUND"], ["NOT_FOUND"])
    assert len(gen.requests) == 2
    assert answer.abstained and answer.abstain_reason is Reason.MODEL_REFUSED
    assert answer.text == abstain_text("en") and answer.citations == []


WHOLE_DRAFT = draft(
    "Kestrel Robotics was founded by Maria Olsen [{f}]. Vantor Labs paid 45 million dollars for it [{p}].",
    f=FOUNDED,
    p=PAID,
)


def questions(requests: list[list[dict]]) -> list[str]:
    """The question of each prompt sent to the generator (drafts or probes)."""
    return [re.search(r"Question: (.*)", r[-1]["content"]).group(1) for r in requests]


def asked(gen: ScriptedGenerator) -> list[str]:
    return questions(gen.requests)


def test_a_two_part_question_is_asked_whole_first(make):
    a = make(draft__whole_first=True)
    answer, events, gen = ask(a, TWO_PART_Q, WHOLE_DRAFT)
    assert asked(gen) == [TWO_PART_Q]  # no part is drafted on its own
    # the whole and each part probed on the whole's evidence: one prompt prefix (cached)
    assert questions(gen.probes) == [TWO_PART_Q, PART_1, PART_2]
    assert len({m[-1]["content"].split("Question:")[0] for m in gen.probes}) == 1
    assert not answer.abstained and answer.question == TWO_PART_Q
    assert (
        answer.text
        == "Kestrel Robotics was founded by Maria Olsen [1]. Vantor Labs paid 45 million dollars for it [2]."
    )
    assert cited_chunks(answer) == [chunk_with(a, FOUNDED), chunk_with(a, PAID)]
    assert "".join(deltas(events)) == WHOLE_DRAFT(gen.requests[0])
    # the sources shown while it is written include each part's evidence too
    shown = [p.chunk.id for p in events[0].passages]
    assert chunk_with(a, FOUNDED) in shown and chunk_with(a, PAID) in shown


def test_a_refused_whole_question_is_asked_part_by_part(make):
    a = make(draft__whole_first=True)
    answer, _, gen = ask(a, TWO_PART_Q, ["NOT_FOUND"], PART_1_DRAFT, ["NOT_FOUND"])
    assert asked(gen) == [TWO_PART_Q, PART_1, PART_2]
    assert not answer.abstained and answer.abstain_reason is None
    assert answer.text == f"Kestrel Robotics was founded by Maria Olsen [1]. {not_answered_text(PART_2, 'en')}"


def test_a_whole_question_the_probe_refuses_is_asked_part_by_part(make):
    a = make(draft__whole_first=True)
    a._generator = gen = ScriptedGenerator(PART_1_DRAFT, PART_2_DRAFT)
    choices = iter([NONE, {"1": 0.9, "0": 0.1}, {"1": 0.9, "0": 0.1}])
    gen.choose = lambda messages: gen.probes.append(messages) or next(choices)
    answer = a.answer(TWO_PART_Q)
    assert len(gen.probes) == 3 and asked(gen) == [PART_1, PART_2]
    assert not answer.abstained and "45 million" in answer.text and "Maria Olsen" in answer.text


def test_a_whole_question_with_a_part_its_evidence_does_not_state_is_asked_part_by_part(make):
    """The whole passes its probe, its second part does not: no whole draft; the parts are
    answered on their own evidence and the unstated one is named."""
    a = make(draft__whole_first=True)
    a._generator = gen = ScriptedGenerator(PART_1_DRAFT)
    ok = {"1": 0.9, "0": 0.1}
    choices = iter([ok, ok, NONE, ok, NONE])
    gen.choose = lambda messages: gen.probes.append(messages) or next(choices)
    answer = a.answer(TWO_PART_Q)
    assert len(gen.probes) == 5 and asked(gen) == [PART_1]
    assert not answer.abstained
    assert answer.text == f"Kestrel Robotics was founded by Maria Olsen [1]. {not_answered_text(PART_2, 'en')}"


def test_a_two_part_question_asked_whole_first_is_refused_only_when_the_parts_are_too(make):
    answer, _, gen = ask(make(draft__whole_first=True), TWO_PART_Q, ["NOT_FOUND"], ["NOT_FOUND"], ["NOT_FOUND"])
    assert asked(gen) == [TWO_PART_Q, PART_1, PART_2]
    assert answer.abstained and answer.abstain_reason is Reason.MODEL_REFUSED
    assert answer.text == abstain_text("en") and answer.citations == []


# -- 7. the language rewrite --------------------------------------------------------------------

GERMAN = draft("Die Straßenbahnlinie kostete 310 Millionen Euro [{c}].", c=COST)


def test_a_draft_in_another_language_is_rewritten_and_the_rewrite_is_checked(make):
    rewritten = draft("The tram line cost 310 million euros [{c}].", c=COST)
    answer, _, gen = ask(make(), TRAM_Q, GERMAN, rewritten)
    assert len(gen.requests) == 2
    first, second = gen.requests
    instruction = rewrite_request([], "", "en")[-1]["content"]
    assert second[-1] == {"role": "user", "content": instruction}
    assert second[-2] == {"role": "assistant", "content": GERMAN(first)}
    assert second[:-2] == first  # a follow-up of the same conversation (prompt cache)
    assert not answer.abstained and answer.text == "The tram line cost 310 million euros [1]."
    # the rewrite is what is checked: a number the rewrite gets wrong is removed
    answer, _, _ = ask(make(), TRAM_Q, GERMAN, draft("The tram line cost 910 million euros [{c}].", c=COST))
    assert answer.abstained and [(r.text, r.reason) for r in answer.removed] == [
        ("The tram line cost 910 million euros.", Reason.NUMBER_NOT_IN_SOURCES)
    ]


def test_no_rewrite_without_verification(make):
    answer, _, gen = ask(make(checks__enabled=False), TRAM_Q, GERMAN)
    assert len(gen.requests) == 1
    assert answer.text == "Die Straßenbahnlinie kostete 310 Millionen Euro [1]."
    # nor with the rewrite switched off by name: the German draft is then checked as it is
    answer, _, gen = ask(make(checks__off=("rewrite_language",)), TRAM_Q, GERMAN)
    assert len(gen.requests) == 1
    assert answer.abstained and answer.abstain_reason is Reason.NOTHING_SUPPORTED
    [removed] = answer.removed  # (its number written the English way by the repair before the checks)
    assert removed.text.startswith("Die Straßenbahnlinie kostete 310 ")


# -- 8. markers: renumbered by first use, every spelling read, unknown numbers dropped ----------


def test_citations_are_renumbered_by_first_use(make):
    a = make()
    reply = draft(
        "Norhaven opened its first tram line on Monday [{o}]. The line cost 310 million euros [{c}].", o=OPENED, c=COST
    )
    answer, _, gen = ask(a, TRAM_Q, reply)
    written = [int(n) for n in re.findall(r"\[(\d+)\]", reply(gen.requests[0]))]
    assert written[0] > written[1]  # the draft cites a later passage first
    assert answer.text == "Norhaven opened its first tram line on Monday [1]. The line cost 310 million euros [2]."
    assert cited_chunks(answer) == [chunk_with(a, OPENED), chunk_with(a, COST)]
    assert [c.n for c in answer.citations] == [1, 2]


def test_every_marker_spelling_is_read_and_a_number_not_given_is_dropped(make):
    """Verification off, so each sentence keeps exactly the passages its markers name (with
    checks on, the support check may re-cite a sentence whose marker was lost)."""
    a = make(checks__enabled=False)
    reply = draft(
        "Norhaven opened its first tram line on Monday【{o}】. The line cost 310 million euros "
        "[Passage {c}]. Harbour city opens a tram line [{t}][9]. It has trams [9].",
        o=OPENED,
        c=COST,
        t=TITLE,
    )
    answer, _, gen = ask(a, TRAM_Q, reply)
    assert number_of(gen.requests[0], TITLE) < 9 and "[9]" not in gen.requests[0][-1]["content"]
    assert answer.text == (
        "Norhaven opened its first tram line on Monday [1]. The line cost 310 million euros [2]. "
        "Harbour city opens a tram line [3]. It has trams."
    )
    assert cited_chunks(answer) == [chunk_with(a, OPENED), chunk_with(a, COST), chunk_with(a, TITLE)]


# -- 9. verification off ------------------------------------------------------------------------


def test_without_verification_every_sentence_stays(make):
    a = make("no-verify")
    assert a.cfg.checks.enabled is False
    reply = draft(
        f"The line cost 520 million euros [{{c}}]. {INVENTED} drove the first tram. "
        "The articles do not say who built it [{t}].",
        c=COST,
        t=TITLE,
    )
    answer, _, _ = ask(a, TRAM_Q, reply)
    assert not answer.abstained
    assert answer.text == (
        f"The line cost 520 million euros [1]. {INVENTED} drove the first tram. "
        "The articles do not say who built it [2]."
    )
    assert answer.removed == [] and answer.notes == []
    assert cited_chunks(answer) == [chunk_with(a, COST), chunk_with(a, TITLE)]
    # a refusal is still a refusal, and nothing falls back without verification
    answer, _, _ = ask(make("no-verify", fallback_cosine=0.0), TRAM_Q, ["NOT_FOUND"])
    assert answer.abstained and answer.abstain_reason is Reason.MODEL_REFUSED and not answer.from_evidence


# -- 10. each named check can be switched off ---------------------------------------------------


@pytest.mark.parametrize(
    "check, template, reason",
    [
        ("numbers", "The line cost 520 million euros [{c}].", Reason.NUMBER_NOT_IN_SOURCES),
        ("names", f"{INVENTED} says the line carries 40,000 passengers a day [{{c}}].", Reason.NAME_NOT_IN_SOURCES),
        (
            "says_nothing",
            "The line carries 40,000 passengers a day, but its cost is not stated [{c}].",
            Reason.SAYS_SOURCES_DO_NOT_ANSWER,
        ),
        (
            "marker_as_content",
            "The line carries 40,000 passengers a day and its cost is [{c}].",
            Reason.MARKER_AS_CONTENT,
        ),
        ("support", "Ice cream melts in July [{c}].", Reason.UNSUPPORTED),
    ],
)
def test_a_check_switched_off_by_name_keeps_what_it_would_remove(make, check, template, reason):
    reply = draft(template, c=COST)
    answer, _, gen = ask(make(), TRAM_Q, reply)
    assert answer.abstained and [r.reason for r in answer.removed] == [reason]
    answer, _, gen = ask(make(checks__off=(check,)), TRAM_Q, reply)
    assert not answer.abstained and answer.removed == []
    assert answer.text == re.sub(r" \[\d+\]", " [1]", reply(gen.requests[0]))


def test_adds_nothing_switched_off_keeps_a_restatement_of_the_question(make):
    question = "Did the line cost 310 million euros?"
    reply = draft("The line cost 310 million euros [{c}].", c=COST)
    answer, _, _ = ask(make(), question, reply)
    assert answer.abstained and [r.reason for r in answer.removed] == [Reason.ADDS_NOTHING]
    answer, _, _ = ask(make(checks__off=("adds_nothing",)), question, reply)
    assert not answer.abstained and answer.text == "The line cost 310 million euros [1]."


def test_the_number_repair_switched_off_leaves_a_wrong_magnitude_to_the_numbers_check(make):
    reply = draft("The line cost 310 billion euros [{c}].", c=COST)
    answer, _, _ = ask(make(), TRAM_Q, reply)
    assert not answer.abstained and answer.text == "The line cost 310 million euros [1]."
    assert any(n.startswith("number corrected from the passage") for n in answer.notes)
    answer, _, _ = ask(make(checks__off=("repair_numbers",)), TRAM_Q, reply)
    assert answer.abstained and [r.reason for r in answer.removed] == [Reason.NUMBER_NOT_IN_SOURCES]


def test_an_unknown_check_name_is_a_value_error_listing_the_names(make):
    with pytest.raises(ValueError) as err:
        ask(make(checks__off=("nubmers",)), KESTREL_Q, "Kestrel Robotics was founded by Maria Olsen [1].")
    message = str(err.value)
    assert "nubmers" in message
    for name in (
        "numbers",
        "says_nothing",
        "marker_as_content",
        "names",
        "adds_nothing",
        "script",
        "foreign_words",
        "support",
        "rewrite_language",
        "repair_numbers",
        "fallback",
    ):
        assert name in message
        ask(make(checks__off=(name,)), KESTREL_Q, "Kestrel Robotics was founded by Maria Olsen [1].")  # known: no error


# -- 11. the stream ------------------------------------------------------------------------------


def test_the_stream_is_sources_then_text_then_a_frozen_answer_with_timings(make):
    a = make()
    # "N" may begin "NOT_FOUND": held back until it cannot, then shown with what follows
    words = ["N", "orhaven", " opened", " its", " first", " tram", " line", " on", " Monday"]

    def pieces(messages):
        return words + [f" [{number_of(messages, OPENED)}]."]

    a._generator = gen = ScriptedGenerator(pieces)
    stream = a.stream(TRAM_Q)
    first = next(stream)
    assert isinstance(first, SourcesFound) and first.passages
    assert gen.requests == []  # the sources are out before the model is asked
    events = [first, *stream]
    assert all(isinstance(e, TextDelta) for e in events[1:-1]) and len(events) > 3
    assert isinstance(events[-1], Answer)
    texts = deltas(events)
    assert "".join(texts) == "".join(pieces(gen.requests[0])) and texts[0] == "Norhaven"  # held, released, none lost
    answer = events[-1]
    assert not answer.abstained
    assert set(cited_chunks(answer)) <= {p.chunk.id for p in first.passages}
    assert {"retrieve", "ttft", "generate", "verify", "total"} <= set(answer.timings)
    assert all(v >= 0 for v in answer.timings.values())
    assert answer.timings["total"] >= sum(answer.timings[k] for k in ("retrieve", "generate", "verify"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.text = "changed"  # type: ignore[misc]
    # answer() is the stream's last event
    gen.replies.append(pieces)
    again = a.answer(TRAM_Q)
    assert isinstance(again, Answer) and again.text == answer.text and gen.replies == []


# -- found on the way ---------------------------------------------------------------------------


def test_an_override_of_a_presets_own_setting_wins():
    assert load_config("passages", evidence__sentences=2).evidence.sentences == 2
    assert load_config("naive", top_k=3).retrieval.top_k == 3 and not load_config("naive").checks.enabled
