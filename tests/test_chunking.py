"""Sentence splitting and chunking: exact offsets, budgets, overlap, and no boilerplate in chunks.

Fast unit tests (no models): hand-made sentences in German, Chinese and Arabic, plus the real
seed articles under several chunk budgets.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.config import Config
from qa.text.chunking import chunk_document, split_sentences, weight
from qa.text.corpus import article_spans, read_corpus
from qa.types import Document

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DEFAULT = Config()
BUDGETS = [
    (DEFAULT.store.chunk_max_chars, DEFAULT.store.chunk_overlap_sentences),
    (360, 1),
    (200, 0),
    (120, 2),
    (600, 1),
]


def sentences(text: str, lang: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, 0, len(text), lang)]


def make_doc(text: str, lang: str, doc_id: str = "t") -> Document:
    return Document(
        id=doc_id, path="", text=text, lang=lang, title="", date=None, spans=tuple(article_spans(text)), sha256=""
    )


@pytest.fixture(scope="module")
def seed_docs() -> dict[str, Document]:
    return {d.id[:3]: d for d in read_corpus([SEEDS])[0]}


# -- sentence splitting -------------------------------------------------------------------------


def test_german_sentences_keep_numbers_abbreviations_and_dotted_names():
    text = (
        "Meta investierte 14,3 Milliarden Dollar in Scale AI. Der CEO von Abacus.AI äußerte sich "
        "öffentlich. Dr. Müller sagte, der Anteil sei auf 4.4% gesunken! Ist das wahr? Ja."
    )
    assert sentences(text, "de") == [
        "Meta investierte 14,3 Milliarden Dollar in Scale AI.",
        "Der CEO von Abacus.AI äußerte sich öffentlich.",
        "Dr. Müller sagte, der Anteil sei auf 4.4% gesunken!",
        "Ist das wahr?",
        "Ja.",
    ]


def test_german_closing_quote_stays_with_its_sentence():
    text = "Er sagte: „Die Aufgabe ist noch lange nicht abgeschlossen.“ Danach ging er in den Urlaub."
    assert sentences(text, "de") == [
        "Er sagte: „Die Aufgabe ist noch lange nicht abgeschlossen.“",
        "Danach ging er in den Urlaub.",
    ]


def test_chinese_sentences_split_on_fullwidth_marks_only():
    text = "OpenAI 注入了 66 亿美元的资金。这一比例已降至 4.4%！这是真的吗？是的,确实如此。"
    assert sentences(text, "zh") == [
        "OpenAI 注入了 66 亿美元的资金。",
        "这一比例已降至 4.4%！",
        "这是真的吗？",
        "是的,确实如此。",
    ]


def test_chinese_closing_quote_stays_with_its_sentence():
    text = "奥特曼写道:“领导层的变动是公司发展的正常过程。”然而,约翰逊也指出了机遇。"
    assert sentences(text, "zh") == [
        "奥特曼写道:“领导层的变动是公司发展的正常过程。”",
        "然而,约翰逊也指出了机遇。",
    ]


def test_arabic_sentences_split_on_arabic_question_mark_not_on_arabic_comma():
    text = (
        "في الآونة الأخيرة، خضع عمالقة الذكاء الاصطناعي لتغييرات متكررة. "
        "هل سينضم بوبيك إلى OpenAI؟ نعم، سينضم إليها قريبًا."
    )
    assert sentences(text, "ar") == [
        "في الآونة الأخيرة، خضع عمالقة الذكاء الاصطناعي لتغييرات متكررة.",
        "هل سينضم بوبيك إلى OpenAI؟",
        "نعم، سينضم إليها قريبًا.",
    ]


def test_sentence_spans_are_absolute_trimmed_and_ordered():
    text = "Prefix that is not split.\n  Erster Satz hier.  Zweiter Satz dort.  \nRest."
    start = text.index("Erster") - 2
    end = text.index("Rest.") - 1
    spans = split_sentences(text, start, end, "de")
    assert [text[s:e] for s, e in spans] == ["Erster Satz hier.", "Zweiter Satz dort."]
    assert all(start <= s < e <= end for s, e in spans)


# -- chunk invariants on the real seeds ---------------------------------------------------------


@pytest.mark.parametrize("max_chars,overlap", BUDGETS)
def test_seed_chunks_are_exact_slices_with_sentences_inside_and_in_order(seed_docs, max_chars, overlap):
    for doc in seed_docs.values():
        chunks = chunk_document(doc, max_chars, overlap)
        assert [c.id for c in chunks] == [f"{doc.id}#{n}" for n in range(len(chunks))]
        for c in chunks:
            assert c.doc_id == doc.id and c.lang == doc.lang
            assert c.text == doc.text[c.start : c.end]
            assert c.sentences and c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
            for (_s1, e1), (s2, _e2) in zip(c.sentences, c.sentences[1:]):
                assert e1 <= s2, f"{c.id}: sentences overlap or are out of order"
            for s, e in c.sentences:
                assert c.start <= s < e <= c.end
                assert re.search(r"\w", doc.text[s:e]), f"{c.id}: punctuation-only sentence {doc.text[s:e]!r}"
        starts = [c.start for c in chunks]
        assert starts == sorted(starts)


@pytest.mark.parametrize("max_chars,overlap", BUDGETS)
def test_seed_chunks_cover_all_article_text(seed_docs, max_chars, overlap):
    for doc in seed_docs.values():
        covered = set()
        for c in chunk_document(doc, max_chars, overlap):
            for s, e in c.sentences:
                covered.update(range(s, e))
        for s, e in doc.spans:
            missing = [i for i in range(s, e) if i not in covered and not doc.text[i].isspace()]
            assert not missing, f"{doc.id}: article text not in any chunk: {doc.text[missing[0] : missing[-1] + 1]!r}"


@pytest.mark.parametrize("max_chars,overlap", BUDGETS)
def test_seed_chunks_respect_the_size_budget(seed_docs, max_chars, overlap):
    for doc in seed_docs.values():
        for c in chunk_document(doc, max_chars, overlap):
            size = sum(weight(doc.text[s:e]) for s, e in c.sentences)
            assert len(c.sentences) == 1 or size <= max_chars, f"{c.id}: {size} > {max_chars}"


@pytest.mark.parametrize("max_chars,overlap", BUDGETS)
def test_seed_chunks_contain_no_boilerplate(seed_docs, max_chars, overlap):
    d002, d003 = seed_docs["002"], seed_docs["003"]
    menu = next(line for line in d002.text.splitlines() if "Русский язык" in line)
    assert menu in d002.text  # the row is in the file …
    for c in chunk_document(d002, max_chars, overlap):  # … but in no chunk
        assert "Русский язык" not in c.text and "Sanskrit" not in c.text and menu not in c.text
    teaser = next(line for line in d003.text.splitlines() if "图源 Pexels上周" in line)
    for c in chunk_document(d003, max_chars, overlap):
        for furniture in ("打赏", "{{data.count}}", "暂无讨论", "个人中心", "今日签到", "条回复"):
            assert furniture not in c.text, f"{c.id} contains {furniture!r}"
        assert "图源 Pexels上周" not in c.text and teaser not in c.text, f"{c.id} contains the teaser line"


def test_chunk_size_accounts_for_dense_scripts():
    assert weight("abc") == 3
    assert weight("人工智能") == pytest.approx(10.0)  # a Han character counts as 2.5 Latin ones
    assert weight("ذكاء") == pytest.approx(4 * 1.3)


# -- overlap and paragraph behaviour on a hand-made document ------------------------------------

_SENTENCES = (
    "Meta hat sieben Mitarbeiter von OpenAI abgeworben.",
    "Bubeck war zehn Jahre lang bei Microsoft tätig.",
    "Murati plant offenbar ein eigenes Unternehmen.",
    "Schulman schloss sich im August dem Konkurrenten Anthropic an.",
    "Investoren gaben trotzdem mehrere Milliarden Dollar.",
    "Brockman nimmt sich bis zum Jahresende eine Auszeit.",
    "Karpathy gründete danach ein Bildungs-Start-up.",
    "Die Phi-Modelle schlugen GPT-3.5 in einigen Tests.",
    "Sutskever entschuldigte sich später öffentlich.",
    "Leike kritisierte die Sicherheitskultur des Unternehmens.",
)


def _paragraph(n: int, first: int) -> str:
    """n distinct sentences (unrelated ones, so the teaser rule does not take them for repeats)."""
    return " ".join(_SENTENCES[first : first + n])


def test_overlap_carries_one_sentence_within_a_paragraph():
    doc = make_doc(_paragraph(6, 0), "de")
    chunks = chunk_document(doc, max_chars=130, overlap=1)
    assert len(chunks) >= 3
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.sentences[0] == prev.sentences[-1]  # one sentence shared
        assert nxt.sentences[1:] and nxt.sentences[1][0] > prev.end  # and then new text
    assert chunks[-1].sentences[-1][1] == doc.spans[-1][1]


def test_no_overlap_partitions_the_sentences():
    doc = make_doc(_paragraph(6, 0), "de")
    chunks = chunk_document(doc, max_chars=130, overlap=0)
    flat = [s for c in chunks for s in c.sentences]
    assert flat == split_sentences(doc.text, doc.spans[0][0], doc.spans[0][1], "de")


def test_overlap_never_crosses_a_paragraph_break():
    doc = make_doc(_paragraph(2, 0) + "\n\n" + _paragraph(2, 6), "de")
    chunks = chunk_document(doc, max_chars=130, overlap=1)
    second_para = doc.spans[1][0]
    for c in chunks:  # a chunk lies in one paragraph: the paragraphs are over half the budget
        assert c.end <= second_para or c.start >= second_para
    assert any(c.start == second_para for c in chunks)


def test_overlap_is_dropped_when_it_would_break_the_budget():
    long_a = "Der erste Satz ist ziemlich lang und handelt von vielen Dingen auf einmal, wirklich."
    long_b = "Der zweite Satz ist genauso lang und erzählt ebenfalls von sehr vielen Dingen hier."
    short = "Ein kurzer Satz."
    doc = make_doc(f"{short} {long_a} {long_b}", "de")
    chunks = chunk_document(doc, max_chars=len(short) + len(long_a) + 5, overlap=1)
    assert [c.text for c in chunks] == [f"{short} {long_a}", long_b]


def test_a_single_overlong_sentence_is_its_own_chunk():
    long = "Dieser Satz ist " + "sehr " * 60 + "lang."
    doc = make_doc(f"Kurz davor. {long} Kurz danach.", "de")
    chunks = chunk_document(doc, max_chars=80, overlap=1)
    assert long in [c.text for c in chunks]


def test_chunks_skip_removed_boilerplate_between_paragraphs():
    menu = "EnglishDeutschFrançaisEspañolItaliano日本語"
    text = f"Eine kurze Einleitung zum Thema.\n\n{menu}\n\nDer eigentliche Artikel beginnt hier."
    doc = make_doc(text, "de")
    assert len(doc.spans) == 2
    for c in chunk_document(doc, max_chars=1000, overlap=1):
        assert menu not in c.text
