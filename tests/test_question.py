"""Two-part questions: where a question is split into parts (each answered on its own), and how
the parts' answers are joined. Fast: no models."""

from __future__ import annotations

import pytest

from qa.answering.join import join_answers
from qa.text.question import question_words, split_question
from qa.types import Answer, Citation


@pytest.mark.parametrize(
    "question,lang,parts",
    [
        (
            "When did Anna leave the bank, and how much did Ben pay for her firm?",
            "en",
            ["When did Anna leave the bank?", "How much did Ben pay for her firm?"],
        ),
        ("Who founded the firm and what does it make?", "en", ["Who founded the firm?", "What does it make?"]),
        (
            "Wie viel Geld hat die Stadt bekommen, und wofür gibt sie es aus?",
            "de",
            ["Wie viel Geld hat die Stadt bekommen?", "Wofür gibt sie es aus?"],
        ),
        (
            "Wann wurde der Park eröffnet, und wie viel hat er gekostet?",
            "de",
            ["Wann wurde der Park eröffnet?", "Wie viel hat er gekostet?"],
        ),
        ("这家公司的创始人是谁？她多大年纪？", "zh", ["这家公司的创始人是谁？", "她多大年纪？"]),
        ("من هو مؤسس الشركة وما المنصب الذي يشغله الآن؟", "ar", ["من هو مؤسس الشركة؟", "ما المنصب الذي يشغله الآن؟"]),
        ("这家公司成立于何年，总部设在何处？", "zh", ["这家公司成立于何年？", "总部设在何处？"]),
        ("في اي عام تأسست الشركة وما الذي تصنعه؟", "ar", ["في اي عام تأسست الشركة؟", "ما الذي تصنعه؟"]),
    ],
)
def test_a_question_asking_two_things_is_split(question, lang, parts):
    assert split_question(question, lang) == parts


@pytest.mark.parametrize(
    "question,lang",
    [
        ("Which two companies did Anna and Ben join?", "en"),  # a list, not a second question
        ("How and why did she leave?", "en"),  # a part would be one word
        ("What did she say and why?", "en"),
        ("Welche Firmen haben Anna und Ben gegründet?", "de"),
        ("انضمت آنا وبن إلى أي شركتين؟", "ar"),
        ("她为什么离开？", "zh"),
    ],
)
def test_a_question_asking_one_thing_stays_whole(question, lang):
    assert split_question(question, lang) == [question]


@pytest.mark.parametrize(
    ("question", "lang", "count"),
    [
        ("公司如何应对这次危机？", "zh", 1),  # 如何 and 为何 are one word each, not 何 too
        ("他为何离开，何时离开？", "zh", 2),
        ("北风公司成立于何年？", "zh", 1),
        ("في اي عام تأسست الشركة؟", "ar", 1),  # أي written without hamza
    ],
)
def test_question_words_are_counted_once_each(question, lang, count):
    assert question_words(question, lang) == count


def _citation(n: int, chunk: str, start: int) -> Citation:
    return Citation(n=n, doc_id="d", chunk_id=chunk, quote="q", lang="de", start=start, end=start + 5)


def test_the_parts_answers_are_joined_with_citations_numbered_by_first_use():
    first = Answer("p1", "She left in May [1].", [_citation(1, "d#s1", 0)], [], False, "en")
    second = Answer(
        "p2",
        "He paid 3 million [1], after she left [2].",
        [_citation(1, "d#s2", 10), _citation(2, "d#s1", 0)],
        [],
        False,
        "en",
    )
    joined = join_answers("q", "en", ["P1?", "P2?"], [first, second])
    assert joined.text == "She left in May [1]. He paid 3 million [2], after she left [1]."
    assert [(c.n, c.chunk_id) for c in joined.citations] == [(1, "d#s1"), (2, "d#s2")]
    assert not joined.abstained


def test_a_part_the_articles_do_not_answer_is_said_so_and_all_unanswered_abstains():
    answered = Answer("p1", "She left in May [1].", [_citation(1, "d#s1", 0)], [], False, "en")
    refused = Answer("p2", "The articles don't contain an answer to this question.", [], [], True, "en")
    joined = join_answers("q", "en", ["When did she leave?", "Why?"], [answered, refused])
    assert joined.text == "She left in May [1]. The articles do not answer: “Why?”" and not joined.abstained
    both = join_answers("q", "en", ["A?", "B?"], [refused, refused])
    assert both.abstained and both.citations == []


def test_a_part_answered_without_a_full_stop_ends_like_a_sentence_before_the_next_part():
    refused = Answer("p2", "这些文章中没有这个问题的答案。", [], [], True, "zh")
    bare = Answer("p1", "Anthropic [1]", [_citation(1, "d#s1", 0)], [], False, "zh")
    joined = join_answers("q", "zh", ["他加入了哪家公司？", "他在那里赚多少钱？"], [bare, refused])
    assert joined.text.startswith("Anthropic [1]。文章没有回答")
    ended = Answer("p1", "Anthropic [1].", [_citation(1, "d#s1", 0)], [], False, "en")
    refused_en = Answer("p2", "The articles don't contain an answer to this question.", [], [], True, "en")
    joined = join_answers("q", "en", ["Which company?", "How much?"], [ended, refused_en])
    assert joined.text == "Anthropic [1]. The articles do not answer: “How much?”"
