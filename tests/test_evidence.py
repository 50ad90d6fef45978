"""Evidence-first answering: sentence units, evidence selection, the cross-script name check,
mixed-language detection, markers standing in for content, refusals written as sentences,
number false friends, and the CPU-chosen embedding precision. Fast: fake embedders and
hand-made vectors, except the alias tests, which need the real embedding model (e2e)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.answering import evidence
from qa.answering.checks.base import Context
from qa.answering.checks.names import untranslated
from qa.answering.claims import parse
from qa.answering.refusal import says_nothing
from qa.config import CheckSettings, EvidenceSettings
from qa.models.embedder import choose_dtype, cpu_flags
from qa.store.faiss_index import Index
from qa.store.faiss_store import FaissStore
from qa.text import numbers
from qa.text.chunking import sentence_units
from qa.text.lang import foreign_words, sounds_alike
from qa.types import Chunk, Document, Passage

TEXT = (
    "Erster Absatz über die Firma Alpha. Er wechselt zur Firma Beta.\n\n"
    "Zweiter Absatz: die Finanzierung betrug 5 Milliarden Dollar. Ein dritter Satz folgt."
)


def doc(doc_id: str = "d1", text: str = TEXT, lang: str = "de") -> Document:
    paragraphs, spans, pos = text.split("\n\n"), [], 0
    for p in paragraphs:
        start = text.index(p, pos)
        spans.append((start, start + len(p)))
        pos = start + len(p)
    return Document(id=doc_id, path="", text=text, lang=lang, title="t", date=None, spans=tuple(spans), sha256=doc_id)


# -- sentence units ---------------------------------------------------------------------------


def test_sentence_units_are_exact_slices_with_ids():
    d = doc()
    units = sentence_units(d)
    assert [u.id for u in units] == ["d1#s0", "d1#s1", "d1#s2", "d1#s3"]
    assert all(u.text == d.text[u.start : u.end] and u.sentences == ((u.start, u.end),) for u in units)
    assert units[1].text == "Er wechselt zur Firma Beta."


@pytest.mark.parametrize(
    "text,lang,count",
    [
        ("He left. She stayed. They moved.", "en", 3),
        ("他离开了。她留下了。", "zh", 2),
        ("غادر الشركة. انضم إلى منافس.", "ar", 2),
    ],
)
def test_sentence_units_in_each_script(text, lang, count):
    assert len(sentence_units(doc(text=text, lang=lang))) == count


# -- evidence selection -----------------------------------------------------------------------


def _index(vectors: dict[str, list[float]], docs: list[Document]) -> FaissStore:
    sentences = [s for d in docs for s in sentence_units(d)]
    sv = np.array([vectors[s.id] for s in sentences], np.float32)
    sv /= np.linalg.norm(sv, axis=1, keepdims=True)
    chunk = Chunk(
        id=f"{docs[0].id}#0",
        doc_id=docs[0].id,
        lang=docs[0].lang,
        start=0,
        end=5,
        text=docs[0].text[:5],
        sentences=((0, 5),),
    )
    return FaissStore.over(
        Index(docs, [chunk], np.zeros((1, sv.shape[1]), np.float32), {}, sentences=sentences, sentence_vectors=sv)
    )


def _select(store, passages, query_vectors, budget, limit, duplicate_cosine, context=False, lang=None):
    return evidence.select(
        store,
        passages,
        query_vectors,
        EvidenceSettings(sentences=limit, budget=budget, context=context),
        duplicate_cosine,
        lang,
    )


def _passage(index: FaissStore, doc_id: str) -> Passage:
    return Passage(
        chunk=next(c for c in index.index.chunks if c.doc_id == doc_id)
        if any(c.doc_id == doc_id for c in index.index.chunks)
        else Chunk(f"{doc_id}#0", doc_id, "de", 0, 1, "x", ((0, 1),)),
        score=1.0,
        dense=0.5,
    )


def test_select_ranks_sentences_of_retrieved_articles_by_cosine():
    d1, d2 = doc("d1"), doc("d2", "Unrelated one. Unrelated two.", "en")
    index = _index(
        {
            "d1#s0": [1, 0, 0],
            "d1#s1": [0.9, 0.1, 0],
            "d1#s2": [0, 1, 0],
            "d1#s3": [0, 0, 1],
            "d2#s0": [1, 0.05, 0],
            "d2#s1": [0, 0, 1],
        },
        [d1, d2],
    )
    q = np.array([0, 1, 0.2], np.float32)
    chosen = _select(index, [_passage(index, "d1")], [q / np.linalg.norm(q)], 0, 2, 0.99)
    assert [p.chunk.id for p in chosen] == ["d1#s2", "d1#s3"]  # best first, d2 was not retrieved
    assert chosen[0].score > chosen[1].score


def test_select_skips_translations_so_a_second_part_gets_its_own_sentence():
    d1, d2 = doc("d1"), doc("d2", "Translation of part one. Part two.", "en")
    index = _index(
        {
            "d1#s0": [1, 0, 0],
            "d1#s1": [0, 0, 1],
            "d1#s2": [0, 0, 1],
            "d1#s3": [0, 0, 1],
            "d2#s0": [0.99, 0, 0.01],
            "d2#s1": [0.6, 0.8, 0],
        },
        [d1, d2],
    )
    q = np.array([0.8, 0.6, 0], np.float32)
    chosen = _select(index, [_passage(index, "d1"), _passage(index, "d2")], [q], 0, 2, 0.9)
    assert [p.chunk.id for p in chosen] == ["d2#s1", "d1#s0"]  # d2#s0 says what d1#s0 says


def test_of_two_translations_the_one_in_the_readers_language_or_script_is_given():
    d1, d2 = doc("d1", "Satz eins. Satz zwei.", "de"), doc("d2", "الجملة الأولى. الجملة الثانية.", "ar")
    index = _index(
        {"d1#s0": [0.95, 0.05, 0.3], "d1#s1": [0, 0, 1], "d2#s0": [1, 0, 0.25], "d2#s1": [0, 1, 0]}, [d1, d2]
    )
    q = np.array([1, 0.2, 0], np.float32)
    both = [_passage(index, "d1"), _passage(index, "d2")]
    ranked = _select(index, both, [q], 0, 2, 0.9)  # no reader language: by cosine
    assert [p.chunk.id for p in ranked] == ["d2#s0", "d2#s1"]
    assert [p.chunk.id for p in _select(index, both, [q], 0, 2, 0.9, lang="ar")] == ["d2#s0", "d2#s1"]
    # the German twin takes the Arabic sentence's place for a German or an English reader
    for reader in ("de", "en"):
        chosen = _select(index, both, [q], 0, 2, 0.9, lang=reader)
        assert [p.chunk.id for p in chosen] == ["d1#s0", "d2#s1"]
    # a Chinese reader gains nothing from either: the closer one stays
    assert [p.chunk.id for p in _select(index, both, [q], 0, 2, 0.9, lang="zh")] == ["d2#s0", "d2#s1"]


def test_language_distance():
    from qa.text.lang import distance

    assert distance("de", "de") == 0 and distance("de", "en") == 1 and distance("ar", "en") == 2
    assert distance("zh", "ar") == 2 and distance("fr", "de") == 1


def test_select_keeps_within_budget_but_always_the_best():
    d1 = doc("d1")
    index = _index({f"d1#s{i}": [1, i * 0.1, 0] for i in range(4)}, [d1])
    chosen = _select(index, [_passage(index, "d1")], [np.array([1, 0, 0], np.float32)], 10, 4, 0.9999)
    assert len(chosen) == 1  # the best sentence is longer than the budget and still goes in


def test_select_for_a_follow_up_uses_the_closer_of_two_query_vectors():
    d1 = doc("d1")
    index = _index({"d1#s0": [1, 0, 0], "d1#s1": [0, 1, 0], "d1#s2": [0, 0, 1], "d1#s3": [0.5, 0.5, 0.7]}, [d1])
    qs = [np.array([0, 0, 1], np.float32), np.array([0, 1, 0], np.float32)]
    chosen = _select(index, [_passage(index, "d1")], qs, 0, 2, 0.9999)
    assert {p.chunk.id for p in chosen} == {"d1#s1", "d1#s2"}


# -- markers in place of content, refusals as sentences ----------------------------------------


@pytest.mark.parametrize(
    "text,lang",
    [
        ("Meta targeted [1] and [2].", "en"),
        ("The paper's number is [1].", "en"),
        ("Sie wechselten zu [1] und [2].", "de"),
        ("他们加入了[1]和[2]。", "zh"),
        ("انضم إلى [1] و[2].", "ar"),
    ],
)
def test_markers_standing_in_for_the_answer_are_found(text, lang):
    assert parse(text, 3, lang)[0].marker_as_content


@pytest.mark.parametrize(
    "text,lang",
    [
        ("Schulman left for Anthropic [1].", "en"),
        ("OpenAI und Microsoft [1][2].", "de"),
        ("He joined Anthropic [1] and studies alignment [2].", "en"),
        ("他加入了Anthropic[1]。", "zh"),
    ],
)
def test_markers_after_a_statement_are_fine(text, lang):
    assert not parse(text, 3, lang)[0].marker_as_content


@pytest.mark.parametrize(
    "text",
    [
        "The article does not say who will be OpenAI's next chief scientist [1].",
        "The CEO of Abacus.AI is not found [1].",
        "Der Artikel nennt den Namen nicht; er wird nicht erwähnt [1].",
        "文章没有提到这个模型的名字[1]。",
        "لم يذكر المقال اسم النموذج [1].",
    ],
)
def test_sentences_saying_the_sources_do_not_answer_are_refusals(text):
    assert says_nothing(text)


@pytest.mark.parametrize(
    "text",
    [
        "Schulman joined Anthropic to research alignment [1].",
        "Die Finanzierung betrug 6,6 Milliarden Dollar [1].",
        "他加入了Anthropic。",
    ],
)
def test_statements_are_not_refusals(text):
    assert not says_nothing(text)


# -- mixed-language sentences -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text,lang",
    [
        ("Aleksander Madry, the leitende Direktor der Sicherheitsabteilung at OpenAI, was entlassen.", "en"),
        ("Lilian Weng is a Vizepräsident for Sicherheitsforschung at OpenAI.", "en"),
        ("Er wechselt to the company and will research alignment.", "de"),
        ("Sيباستيان بوبيك is moving to OpenAI.", "en"),
        ("Er arbeitet bei 微软.", "de"),
        ("他离开OpenAI加入Anthropic，研究alignment。", "zh"),
        ("انضم إلى Anthropic لدراسة alignment.", "ar"),
    ],
)
def test_foreign_words_inside_a_sentence_are_found(text, lang):
    assert foreign_words(text, lang)


@pytest.mark.parametrize(
    "text,lang",
    [
        ("John Schulman left OpenAI to research AI alignment at Anthropic.", "en"),
        ("Sébastien Bubeck is joining OpenAI from Microsoft.", "en"),
        ("Andrej Karpathy verließ OpenAI im Februar 2024 und gründete Eureka Labs.", "de"),
        ("约翰·舒尔曼离开OpenAI，加入了Anthropic。", "zh"),
        ("انضم جون شولمان إلى Anthropic.", "ar"),
    ],
)
def test_names_in_another_script_are_not_foreign_words(text, lang):
    assert foreign_words(text, lang) == []


@pytest.mark.parametrize(
    "text,lang,words",
    [
        ("They left because they were unzufrieden with the release.", "en", ["unzufrieden"]),
        ("He wants to study Ausrichtung at the company.", "en", ["Ausrichtung"]),
        ("Er hat die Firma verlassen, nachdem das Modell released wurde.", "de", ["released"]),
        # names and English words that German uses are not foreign
        ("Sebastien Bubeck left Microsoft for Anthropic and Google DeepMind.", "en", []),
        ("Das Start-up von Sutskever heißt Superintelligence und arbeitet mit Microsoft.", "de", []),
    ],
)
def test_common_words_of_the_other_language_are_found(text, lang, words):
    assert foreign_words(text, lang) == words


def test_words_of_the_question_are_allowed():
    assert foreign_words("研究alignment。", "zh", allowed="alignment 是什么？") == []


# -- number false friends ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,lang,value",
    [
        ("eine Billion Dollar", "de", 1e12),
        ("1,5 Billionen", "de", 1.5e12),
        ("2 Billion", "de", 2e12),
        ("a billion dollars", "en", 1e9),
        ("2 billion", "en", 2e9),
        ("1 trillion", "en", 1e12),
        ("3 Billiarden", "de", 3e15),
        ("مليار دولار", "ar", 1e9),
        ("2 تريليون", "ar", 2e12),
        ("一万亿", "zh", None),
        ("5万亿", "zh", 5e12),
        ("66亿", "zh", 6.6e9),
    ],
)
def test_scale_words_are_read_in_their_language(text, lang, value):
    values = numbers.extract(text, lang=lang)
    if value is not None:
        assert any(numbers.same(v, value) for v in values), values


def test_a_billion_in_english_is_not_a_german_billion():
    german = numbers.extract("OpenAI wird mit einer Billion Dollar bewertet.", lang="de")
    english = numbers.extract("OpenAI is valued at a billion dollars.", lang="en")
    assert numbers.supported(english, german) == english  # 10^9 is not 10^12: the check fails
    assert not numbers.supported(numbers.extract("a trillion dollars", lang="en"), german)


@pytest.mark.parametrize(
    "text,lang,written",
    [
        ("35 Billionen Euro", "de", "35 Billionen"),
        ("6 Milliarden", "de", "6 Milliarden"),
        ("3 Millionen", "de", "3 Millionen"),
        ("7 billions of", "en", "7 billions"),
        ("35 mnemonic", "en", "35"),
        ("66亿美元", "zh", "66亿"),
    ],
)
def test_a_number_span_covers_its_whole_scale_word(text, lang, written):
    # "35 Billionen" once matched as "35 Billion" + "en": a repaired number left "Billionenen"
    ((start, end, _value),) = numbers.spans(text, lang)
    assert text[start:end] == written


# -- embedding precision chosen by the CPU ----------------------------------------------------


def test_dtype_follows_the_cpu_flags():
    assert choose_dtype({"avx2", "avx512f", "avx512_bf16"}) == "bfloat16"
    assert choose_dtype({"avx2", "amx_bf16"}) == "bfloat16"
    assert choose_dtype({"avx2", "fma"}) == "float32"  # emulated bf16 is 6× slower there
    assert choose_dtype(set()) == "float32"


def test_cpu_flags_are_read_from_cpuinfo_text():
    info = "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n"
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags("nothing here") == set()


# -- cross-script names (the real embedding model) --------------------------------------------


@pytest.fixture(scope="module")
def verifier():
    """The real embedder (the alias check compares embeddings of names and words)."""
    from qa.config import load_config
    from qa.models.embedder import make_embedder

    return make_embedder(load_config())


def _p(text: str, lang: str) -> Passage:
    return Passage(chunk=Chunk("x#s0", "x", lang, 0, len(text), text, ((0, len(text)),)), score=1.0, dense=0.7)


def _untranslated(embedder, name: str, evidence: str, lang: str) -> list[str]:
    ctx = Context.of("", lang, [_p(evidence, lang)], None, CheckSettings(), embedder)
    return untranslated([name], ctx)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name,evidence,lang",
    [
        ("Google", "蒂姆·布鲁克斯离开后加入了谷歌DeepMind。", "zh"),
        ("Schulman", "约翰·舒尔曼宣布离开OpenAI，加入Anthropic。", "zh"),
        ("Assistant", "Bubeck war zuvor als Assistenzprofessor an der Princeton University tätig.", "de"),
        ("Microsoft", "نائب رئيس مايكروسوفت للذكاء الاصطناعي على وشك المغادرة.", "ar"),
    ],
)
def test_a_name_written_in_another_script_is_found(verifier, name, evidence, lang):
    assert _untranslated(verifier, name, evidence, lang) == []


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name,evidence,lang",
    [
        ("California", "Er kritisierte, dass die Sicherheitskultur glänzenden Produkten weichen musste.", "de"),
        ("Tesla", "蒂姆·布鲁克斯离开后加入了谷歌DeepMind。", "zh"),
    ],
)
def test_an_invented_name_is_still_caught(verifier, name, evidence, lang):
    assert _untranslated(verifier, name, evidence, lang) == [name]


@pytest.mark.parametrize(
    "name,word,alike",
    [
        ("Hoffmann", "霍夫曼", True),
        ("Petrov", "بيتروف", True),
        ("Müller", "穆勒", True),
        ("Fischer", "菲舍尔", True),
        ("Fischer", "فيشر", True),
        ("Kowalski", "霍夫曼", False),
        ("Bot", "بوبيك", False),
        ("Hoffmann", "Hofmann", False),  # same script: the literal check decides, not the sound
    ],
)
def test_names_that_sound_alike_across_scripts(name, word, alike):
    assert sounds_alike(name, word) is alike


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name,evidence,lang,kept",
    [
        ("Hoffmann", "据报道，霍夫曼已加入这家新公司。", "zh", True),
        ("Petrov", "انضم بيتروف إلى الشركة الجديدة الشهر الماضي.", "ar", True),
        ("Kowalski", "据报道，霍夫曼已加入这家新公司。", "zh", False),
        # a garbled rendering of the name in the evidence: close in meaning, not in sound
        ("Systayan", "انضم سيباستيان بوبيك إلى الشركة الجديدة.", "ar", False),
    ],
)
def test_a_name_is_kept_only_when_it_sounds_like_the_evidence(verifier, name, evidence, lang, kept):
    assert (_untranslated(verifier, name, evidence, lang) == []) is kept


def test_context_adds_the_sentence_before_within_its_paragraph_and_keeps_the_id():
    d1 = doc("d1")
    index = _index({"d1#s0": [1, 0, 0], "d1#s1": [0, 1, 0], "d1#s2": [0, 0, 1], "d1#s3": [0.1, 0.1, 1]}, [d1])
    chosen = _select(index, [_passage(index, "d1")], [np.array([0, 1, 0], np.float32)], 0, 1, 0.99, context=True)
    unit = chosen[0].chunk
    assert unit.id == "d1#s1" and unit.text == "Erster Absatz über die Firma Alpha. Er wechselt zur Firma Beta."
    assert unit.text == d1.text[unit.start : unit.end] and len(unit.sentences) == 2
    units, _ = index.sentences_of(["d1"])
    first_of_paragraph = evidence.with_context(units, 2, set(), d1)
    assert first_of_paragraph.id == "d1#s2" and first_of_paragraph.text.startswith("Zweiter Absatz")


def test_neighbours_in_one_article_are_not_dropped_as_duplicates():
    """A sentence embedded with the one before it looks like it; both must stay (the fact
    sentence was lost behind its follower)."""
    d1 = doc("d1")
    index = _index({"d1#s0": [1, 0, 0], "d1#s1": [0.99, 0.1, 0], "d1#s2": [0, 0, 1], "d1#s3": [0, 0.2, 1]}, [d1])
    chosen = _select(index, [_passage(index, "d1")], [np.array([1, 0.05, 0], np.float32)], 0, 2, 0.82)
    assert {p.chunk.id for p in chosen} == {"d1#s0", "d1#s1"}
