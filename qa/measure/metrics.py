"""The pure metric functions of `qa eval` (plain values in, plain values out; unit-tested on
hand-made fixtures in tests/test_evaluate.py): is a gold fact stated (literally, or as the same
numbers), retrieval ranks, citation spans, abstention rates, the answer's language. What each
metric means is described in qa.measure.evaluate.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable

from qa.measure.stats import mean
from qa.text import numbers
from qa.text.lang import detect, foreign_words
from qa.text.lexical import new_words

_MARKERS = re.compile(r"\s*[\[【]\s*\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*\s*[\]】]")
_CN_NUMERALS = set("零〇一二两三四五六七八九十百千万亿")
_CJK_DIGIT = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])(?=\d)")
_WORD_RUN = re.compile(r"[^\W\d_]+")


def normalize(text: str) -> str:
    """NFKC + case folding: the form both sides of every text comparison are put in."""
    return unicodedata.normalize("NFKC", text).casefold()


def strip_markers(text: str) -> str:
    """The answer text without its [n] / [1, 2] / 【n】 citation markers."""
    return _MARKERS.sub("", text).strip()


def _numbers(text: str) -> list[float]:
    """numbers.extract, with a space put between a Chinese character and a digit first:
    numbers.extract does not see "66亿" in "融资66亿美元" (its look-behind treats 资 as a word
    character), and Chinese answers rarely put spaces around numbers."""
    return numbers.extract(_CJK_DIGIT.sub(" ", text))


def _without_cn_numerals(text: str) -> str:
    return "".join(ch for ch in text if ch not in _CN_NUMERALS)


def _is_number_word(run: str) -> bool:
    """A number word ("ten", "zehn", "عشر") or a scale word ("Milliarden", "billion", "مليار")."""
    if numbers.extract(run):
        return True
    scaled = numbers.extract(f"2 {run}", words=False)
    return bool(scaled) and not numbers.same(scaled[0], 2.0)


def numbers_match(variant: str, answer: str) -> bool:
    """The answer states the variant's numbers (as values) and its other words.

    Only for variants that state a number on its own: a digit glued to letters ("GPT-4o",
    "Phi-3.5", "28-jährigen") is part of a name, matched literally elsewhere."""
    v, a = normalize(variant), normalize(strip_markers(answer))
    values = _numbers(v)
    if not values:
        return False
    for token in v.split():
        token = _without_cn_numerals(token)
        if re.search(r"\d", token) and _WORD_RUN.search(token):
            return False
    stated = _numbers(a)
    if not all(any(numbers.same(x, s) for s in stated) for x in values):
        return False
    for run in _WORD_RUN.findall(v):
        run = _without_cn_numerals(run)
        if run and not _is_number_word(run) and run not in a:
            return False
    return True


def variant_stated(variant: str, answer: str) -> bool:
    """Case-insensitive substring match after NFKC, or an equivalent statement of its numbers."""
    if normalize(variant) in normalize(strip_markers(answer)):
        return True
    return numbers_match(variant, answer)


def fact_stated(fact: list[str], answer: str) -> bool:
    return any(variant_stated(v, answer) for v in fact)


def facts_stated(facts: list[list[str]], answer: str) -> list[bool]:
    return [fact_stated(f, answer) for f in facts]


def distinct_docs(doc_ids: Iterable[str]) -> list[str]:
    """Document ids in order of first appearance (passages → ranked documents)."""
    seen: list[str] = []
    for d in doc_ids:
        if d not in seen:
            seen.append(d)
    return seen


def recall_at_k(ranked: list[str], gold: Iterable[str], k: int) -> float:
    """1.0 when any gold document is among the first k ranked documents, else 0.0."""
    gold = set(gold)
    return 1.0 if any(d in gold for d in ranked[:k]) else 0.0


def reciprocal_rank(ranked: list[str], gold: Iterable[str]) -> float:
    gold = set(gold)
    for rank, d in enumerate(ranked, start=1):
        if d in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: list[str], gold: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG: DCG of the ranking over DCG of the ideal one (all gold first)."""
    gold = set(gold)
    if not gold:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, d in enumerate(ranked[:k], start=1) if d in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def evidence_spans(
    evidence: list[str], gold_docs: list[str], doc_texts: dict[str, str]
) -> dict[str, list[tuple[int, int]]]:
    """doc id → character spans of every occurrence of every evidence string in that document."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for doc in gold_docs:
        text = doc_texts.get(doc)
        if text is None:
            continue
        for ev in evidence:
            if not ev:
                continue
            start = text.find(ev)
            while start >= 0:
                spans.setdefault(doc, []).append((start, start + len(ev)))
                start = text.find(ev, start + 1)
    return spans


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open character spans [start, end) share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def citation_correct(
    doc_id: str, start: int, end: int, gold_docs: Iterable[str], spans: dict[str, list[tuple[int, int]]]
) -> bool:
    """The citation points into a gold document and its quote overlaps a gold evidence span."""
    return doc_id in set(gold_docs) and any(overlaps((start, end), s) for s in spans.get(doc_id, []))


def citation_supports(doc_id: str, quote: str, gold_docs: Iterable[str], facts: list[list[str]]) -> bool:
    """The lenient check: a gold-document quote that states one of the required facts."""
    return doc_id in set(gold_docs) and any(fact_stated(f, quote) for f in facts)


def facts_covered(facts: list[list[str]], cited: list[dict], gold_docs: Iterable[str], lang: str) -> list[bool]:
    """For each fact: does a cited passage back it? `cited` holds {"doc_id", "lang", "text"}.

    Covered when a cited chunk's text states a variant, or (cross-lingual) when a cited chunk in
    another language than the question's comes from a gold document — the variants list need
    not contain the source-language wording, so the document is the best evidence available."""
    gold = set(gold_docs)
    cross = any(c["doc_id"] in gold and c.get("lang") != lang for c in cited)
    return [cross or any(fact_stated(fact, c.get("text", "")) for c in cited) for fact in facts]


def abstention_metrics(answerable: list[bool], abstained: list[bool]) -> dict[str, float | None]:
    """Precision/recall of abstaining on unanswerable items; false-abstention rate on answerable.
    A value is None when its denominator is empty."""
    pairs = list(zip(answerable, abstained))
    abstentions = [a for a, ab in pairs if ab]
    unanswerable = [ab for a, ab in pairs if not a]
    answerable_ab = [ab for a, ab in pairs if a]
    return {
        "abstention_precision": mean(not a for a in abstentions) if abstentions else None,
        "abstention_recall": mean(unanswerable) if unanswerable else None,
        "false_abstention": mean(answerable_ab) if answerable_ab else None,
    }


def language_ok(text: str, abstained: bool, lang: str, abstain_text: str | None = None, question: str = "") -> bool:
    """The answer is in the item's language (an abstention: its text is the right one), counted
    strictly: a sentence carrying words of another language (names aside, qa.lang.foreign_words)
    is a miss."""
    if abstained and abstain_text is not None and text.strip() == abstain_text.strip():
        return True
    body = strip_markers(text)
    return bool(body) and detect(body) == lang and not foreign_words(body, lang, question)


def adds_content(text: str, question: str) -> bool:
    """The answer says something the question does not: a content word the question lacks (in
    any inflection; qa.text.lexical.new_words) or a number it does not give. An answer that only
    restates its question ("it happened in the field [1]") or puts a marker where the value
    belongs ("the number is [1]") adds nothing."""
    body = strip_markers(text)
    asked = _numbers(normalize(question))
    if any(not any(numbers.same(v, q) for q in asked) for v in _numbers(normalize(body))):
        return True
    return bool(new_words(body, question))
