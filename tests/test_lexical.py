"""Lexical retrieval (the multilingual tokenizer, BM25 ranking) and language identification of
questions, which decides the answer language. Fast, no models."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Config
from qa.store.lexical import LexicalIndex
from qa.text.chunking import chunk_document
from qa.text.corpus import read_corpus
from qa.text.lang import detect
from qa.text.lexical import tokenize

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


# -- tokenizer ----------------------------------------------------------------------------------


def test_chinese_becomes_overlapping_bigrams():
    assert tokenize("人工智能") == ["人工", "工智", "智能"]
    assert tokenize("人") == ["人"]  # a one-character run stays a token


def test_latin_names_inside_chinese_are_word_tokens():
    tokens = tokenize("首席技术官米拉・穆拉蒂(Mira Murati)离职,加入 OpenAI 的对手")
    assert {"mira", "murati", "openai"} <= set(tokens)
    assert "离职" in tokens and "首席" in tokens


def test_name_separator_dot_is_not_part_of_a_bigram():
    # "米拉・穆拉蒂" in the article must match "米拉·穆拉蒂" or "穆拉蒂" in a question
    assert tokenize("米拉・穆拉蒂") == tokenize("米拉·穆拉蒂") == ["米拉", "穆拉", "拉蒂"]
    assert set(tokenize("穆拉蒂")) <= set(tokenize("米拉・穆拉蒂"))


def test_arabic_prefixes_are_stripped():
    assert tokenize("والذكاء الاصطناعي") == ["ذكاء", "اصطناعي"]
    assert tokenize("بالمدرسة") == tokenize("للمدرسة") == tokenize("المدرسة") == tokenize("مدرسة")
    assert tokenize("ومايكروسوفت") == tokenize("مايكروسوفت")


def test_arabic_short_words_keep_their_first_letters():
    assert tokenize("وقد") == ["وقد"]  # stripping "و" would leave two letters


def test_arabic_alef_forms_diacritics_and_ta_marbuta_are_unified():
    assert tokenize("إبراهيم") == tokenize("ابراهيم") == tokenize("أبراهيم")
    assert tokenize("آخر") == tokenize("اخر")
    assert tokenize("مكتبة") == tokenize("مكتبه")
    assert tokenize("عَمَلٌ") == tokenize("عمل")
    assert tokenize("كبيـــرة") == tokenize("كبيرة")  # tatweel
    assert tokenize("انضم مؤخرًا") == ["انضم", "مؤخرا"]  # tanween does not split the word


def test_arabic_stopwords_are_dropped_in_every_spelling():
    assert tokenize("في من على إلى عن أن إن هل") == []
    assert tokenize("انضم إلى OpenAI") == ["انضم", "openai"]


def test_german_and_english_stopwords_are_dropped():
    assert tokenize("Wie viel investierte Meta in Scale AI?") == ["viel", "investierte", "meta", "scale", "ai"]
    assert tokenize("Why did the company leave the market?") == ["company", "leave", "market"]
    assert tokenize("der die das und oder the of and") == []


def test_case_width_and_numbers():
    assert tokenize("ÜBER Äpfel") == ["über", "äpfel"]
    assert tokenize("ＯｐｅｎＡＩ") == ["openai"]
    assert tokenize("Phi-3.5 kam 2024") == ["phi", "3", "5", "kam", "2024"]
    assert tokenize("a b 7") == ["7"]  # single letters dropped, single digits kept


def test_empty_and_symbol_only_text_has_no_tokens():
    assert tokenize("") == []
    assert tokenize("?! …") == []


# -- BM25 ---------------------------------------------------------------------------------------

TEXTS = [
    "Meta investierte 14,3 Milliarden Dollar in Scale AI und gewann Alexandr Wang.",
    "John Schulman verlässt OpenAI und schließt sich Anthropic an.",
    "仍向 OpenAI 注入了 66 亿美元的资金。",
    "نائب رئيس مايكروسوفت سيباستيان بوبيك على وشك الانضمام إلى OpenAI.",
    "Die Personalunruhen bei OpenAI haben sich verschärft.",
]


@pytest.fixture(scope="module")
def small() -> LexicalIndex:
    return LexicalIndex(TEXTS)


@pytest.mark.parametrize(
    "query,expected",
    [
        ("Why did John Schulman leave?", 1),
        ("Alexandr Wang", 0),
        ("OpenAI 获得了多少资金", 2),
        ("سيباستيان بوبيك", 3),
        ("Was investierte Meta?", 0),
    ],
)
def test_bm25_ranks_the_chunk_with_the_name_first(small, query, expected):
    results = small.search(query, 3)
    assert results and results[0][0] == expected
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_bm25_empty_or_stopword_query_returns_nothing(small):
    assert small.search("", 5) == []
    assert small.search("   ", 5) == []
    assert small.search("the of and der die", 5) == []


def test_bm25_unknown_words_return_nothing(small):
    assert small.search("Australien Hauptstadt Canberra", 5) == []


def test_bm25_k_larger_than_the_index(small):
    results = small.search("OpenAI", 50)
    assert len(results) <= len(TEXTS)
    assert {i for i, _ in results} == {1, 2, 3, 4}


def test_bm25_empty_index():
    assert LexicalIndex([]).search("OpenAI", 3) == []


def test_bm25_on_the_seed_chunks():
    cfg = Config()
    chunks = [
        c
        for d in read_corpus([SEEDS])[0]
        for c in chunk_document(d, cfg.store.chunk_max_chars, cfg.store.chunk_overlap_sentences)
    ]
    index = LexicalIndex([c.text for c in chunks])
    for query, name, doc in [
        ("Pavel Izmailov", "Pavel Izmailov", "002"),
        ("Lightcast", "Lightcast", "003"),
        ("Eureka Labs", "Eureka Labs", "003"),
        ("蒂姆・布鲁克斯", "布鲁克斯", "003"),
        ("Wer ist Alexandr Wang?", "Alexandr Wang", "004"),
    ]:
        top = chunks[index.search(query, 5)[0][0]]
        assert name in top.text and top.doc_id.startswith(doc), (query, top.id)


# -- language identification (qa.lang) ----------------------------------------------------------


@pytest.mark.parametrize(
    "lang,question",
    [
        ("en", "Why did John Schulman leave OpenAI?"),
        ("en", "Who founded Anthropic?"),
        ("en", "How much did Microsoft pay Sébastien Bubeck?"),
        ("en", "Was Murati fired?"),
        ("en", "And why?"),
        ("de", "Wie viel investierte Meta in Scale AI?"),
        ("de", "Warum verließ Schulman OpenAI?"),
        ("de", "Was plant Murati?"),
        ("de", "Was hat Murati vor?"),
        ("de", "Wer ist Alexandr Wang?"),
        ("de", "Und warum?"),
        ("zh", "OpenAI 最近获得了多少资金？"),
        ("zh", "OpenAI 的 CEO 是谁？"),
        ("zh", "John Schulman 去了哪家公司？"),
        ("zh", "Mira Murati 为什么离开 OpenAI?"),
        ("ar", "إلى أي شركة سينضم سيباستيان بوبيك؟"),
        ("ar", "من هو Sam Altman؟"),
        ("ar", "لماذا غادر Luke Metz شركة OpenAI؟"),
        ("ar", "هل ستنضم Mira Murati إلى Microsoft؟"),
    ],
)
def test_detect_short_questions(lang, question):
    assert detect(question) == lang


def test_detect_other_latin_languages_are_not_forced_to_en_or_de():
    assert detect("Pourquoi Schulman a-t-il quitté OpenAI?") == "fr"
    assert detect("Qui sont les fondateurs des entreprises?") == "fr"


def test_detect_without_letters_falls_back_to_the_default():
    assert detect("") == "en"
    assert detect("123 ?!", default="de") == "de"


def test_detect_gold_questions():
    import json

    items = [
        json.loads(line) for line in (SEEDS / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    wrong = [
        (it["lang"], detect(it["question"]), it["question"]) for it in items if detect(it["question"]) != it["lang"]
    ]
    assert not wrong


def test_bm25_ties_break_by_ascending_row():
    # the same text five times: equal scores, so the order is the rows' (as in the PostgreSQL store)
    texts = ["Der Hafen von Kiel wurde erweitert."] * 5 + ["Ein anderer Text über Wetter."]
    index = LexicalIndex(texts)
    assert [r for r, _ in index.search("Hafen Kiel", 10)] == [0, 1, 2, 3, 4]
    assert [r for r, _ in index.search("Hafen Kiel", 3)] == [0, 1, 2]
