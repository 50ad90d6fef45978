"""End to end with the real models: questions in English, German, Chinese and Arabic over the seed
articles (copied to a temporary corpus with its own index), an out-of-scope question, and the
public API contract.

Slow (index build ~30 s, 3–10 s per answer): one Assistant is shared by the module and every
question is asked once. Run under the shared lock:
    flock /tmp/qa-heavy.lock .venv/bin/python -m pytest -p no:cacheprovider -q tests/test_e2e.py
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path

import pytest

from qa import Answer, Assistant, Citation, SourcesFound, TextDelta, answer
from qa.answering.refusal import abstain_text
from qa.config import MAX_QUESTION_CHARS, load_config
from qa.types import Reason

pytestmark = pytest.mark.e2e

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
BUBECK = {"000_39e5384918818fe2", "001_6d5f0e6fb6e96afc"}  # one article in German and Arabic
D002, D003, D004 = "002_fd11f6bd83abf008", "003_fa89097a72b77a95", "004_35ed62e78bbc7733"

# (language, question, gold documents, the required facts: each a list of acceptable variants,
# and every fact must be stated, so a garbled half answer fails)
CASES = [
    ("en", "Why did John Schulman leave OpenAI?", {D002}, [["Anthropic"]]),
    ("en", "Who did Meta put in charge of its new superintelligence lab?", {D004}, [["Wang"]]),
    ("de", "Wie viel investierte Meta in Scale AI?", {D004}, [["14,3", "14.3"]]),
    ("de", "Wie viele Kernmitarbeiter haben OpenAI laut Branchenforschungsinstituten verlassen?", {D002}, [["75"]]),
    ("zh", "OpenAI 最近获得了多少资金？", {D003}, [["66 亿", "66亿", "6.6"]]),
    ("zh", "卡帕蒂创立的教育人工智能初创公司叫什么？", {D003}, [["Eureka", "尤里卡"]]),
    ("ar", "إلى أي شركة سينضم سيباستيان بوبيك؟", BUBECK, [["OpenAI"]]),
    ("ar", "كم سنة عمل بوبيك في مايكروسوفت؟", BUBECK, [["عشر", "10", "١٠"]]),
]
OUT_OF_SCOPE = "What is the capital of Canada?"
ALL_QUESTIONS = [q for _, q, _, _ in CASES] + [OUT_OF_SCOPE]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    root = tmp_path_factory.mktemp("qa-e2e")
    seeds = root / "seeds"
    seeds.mkdir()
    for path in SEEDS.glob("*.txt"):
        shutil.copy(path, seeds / path.name)
    return Assistant(load_config(seeds_dir=seeds, uploads_dir=root / "uploads", index_dir=root / "index"))


@pytest.fixture(scope="module")
def ask(assistant):
    """Each question is streamed once; the stream's items are kept for the contract tests."""
    streamed: dict[str, list] = {}

    def ask(question: str) -> Answer:
        if question not in streamed:
            streamed[question] = list(assistant.stream(question))
        return streamed[question][-1]

    ask.streamed = streamed
    return ask


def seed_text(doc_id: str) -> str:
    return (SEEDS / f"{doc_id}.txt").read_bytes().decode("utf-8")


def explain(a: Answer) -> str:
    return (
        f"\nanswer: {a.text!r}\nabstained: {a.abstained}\nnotes: {a.notes}"
        f"\nsources: {[p.chunk.id for p in a.sources]}\ncited: {[c.chunk_id for c in a.citations]}"
    )


# -- answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang,question,gold,facts", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_the_right_article_is_retrieved(ask, lang, question, gold, facts):
    a = ask(question)
    assert gold & {p.doc_id for p in a.sources}, explain(a)


@pytest.mark.parametrize("lang,question,gold,facts", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_the_answer_states_the_fact_cites_the_article_in_the_question_language(ask, lang, question, gold, facts):
    a = ask(question)
    assert not a.abstained, explain(a)
    assert a.lang == lang
    assert gold & {c.doc_id for c in a.citations}, explain(a)
    for fact in facts:
        assert any(f.lower() in a.text.lower() for f in fact), f"none of {fact} stated" + explain(a)


@pytest.mark.xfail(
    strict=False,
    reason="known failure: the 1.5B model restates the reason as 'to work with "
    "Anthropic' and drops 'alignment' (KI-Ausrichtung); see the issue 11 note",
)
def test_the_whole_reason_is_stated_not_half_of_it(ask):
    a = ask("Why did John Schulman leave OpenAI?")
    assert "anthropic" in a.text.lower() and "align" in a.text.lower(), explain(a)


# Tempting: the people and companies are in the articles, the asked fact is not (a neighbouring
# fact is: what Google and Amazon put into other companies; Bubeck's move, not his pay).
TEMPTING = ["Wie viel Geld hat Google in Anthropic gesteckt?", "How much did Microsoft pay Sébastien Bubeck?"]


@pytest.mark.parametrize("question", TEMPTING)
def test_a_tempting_unanswerable_question_is_refused_before_an_answer_is_written(ask, question):
    a = ask(question)
    assert a.abstained and a.abstain_reason is Reason.NOT_STATED, explain(a)
    assert a.citations == [] and "generate" not in a.timings and "probe" in a.timings


def test_out_of_scope_question_abstains(ask):
    a = ask(OUT_OF_SCOPE)
    assert a.abstained, explain(a)
    assert a.citations == [] and a.text == abstain_text("en")
    assert a.notes  # says why


# -- the API contract, on every answer ----------------------------------------------------------


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_stream_yields_sources_then_text_then_the_answer(ask, question):
    ask(question)
    items = ask.streamed[question]
    assert isinstance(items[0], SourcesFound) and isinstance(items[-1], Answer)
    assert all(isinstance(item, TextDelta) for item in items[1:-1])
    assert items[-1].question == question
    assert {p.chunk.id for p in items[0].passages} <= {p.chunk.id for p in items[-1].sources}


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_answer_is_json_serializable(ask, question):
    data = ask(question).to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert {"question", "text", "lang", "abstained", "citations", "sources", "timings", "notes"} <= set(data)


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_citations_quote_the_seed_files_exactly(ask, question):
    a = ask(question)
    for c in a.citations:
        assert isinstance(c, Citation) and c.quote.strip()
        assert seed_text(c.doc_id)[c.start : c.end] == c.quote, c
    for p in a.sources:
        assert seed_text(p.doc_id)[p.chunk.start : p.chunk.end] == p.chunk.text


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_citation_numbers_match_the_markers_in_the_text(ask, question):
    a = ask(question)
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", a.text)]
    first_use = list(dict.fromkeys(markers))
    assert first_use == [c.n for c in a.citations] == list(range(1, len(a.citations) + 1)), explain(a)
    cited_chunks = {c.chunk_id for c in a.citations}
    assert cited_chunks <= {p.chunk.id for p in a.sources}  # a citation points at a given passage


@pytest.mark.parametrize(
    "bad", ["", "   \n\t ", "x" * (MAX_QUESTION_CHARS + 1)], ids=["empty", "whitespace", "too-long"]
)
def test_bad_questions_raise_value_error(bad):
    with pytest.raises(ValueError):
        answer(bad)


def test_closing_a_stream_early_stops_the_model(assistant):
    """The drafter closes the stream of a draft that loops (qa.text.repetition): llama.cpp must
    then stop generating, not run on to max_tokens holding the model from the next question."""
    generator = assistant.generator
    before = set(threading.enumerate())
    ask = [{"role": "user", "content": "Count from 1 to 2000 in digits, separated by commas."}]
    pieces = generator.stream(ask, 1500, 0.0)  # 1500 tokens: minutes on a 2-core CPU
    first = [next(pieces) for _ in range(3)]
    pieces.close()
    requests = [t for t in set(threading.enumerate()) - before if t.name == "llamacpp-request"]
    for thread in requests:
        thread.join(timeout=30)
    assert first and requests and not any(t.is_alive() for t in requests)
    assert "".join(generator.stream([{"role": "user", "content": "Say OK."}], 5, 0.0)).strip()
