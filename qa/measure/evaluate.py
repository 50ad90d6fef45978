"""`qa eval`: measure the assistant against a gold set (default ``seeds/gold.jsonl``).

    qa eval [--gold FILE] [--split dev|test|all] [--json PATH] [--config NAME[,NAME…]]
            [--limit N] [--calibrate]

Every configuration (a preset of ``qa.config.PRESETS``) answers every selected question with
ONE ``Assistant``; follow-up items are asked with the previous question and answer of the same
run as history. What is measured, and how:

retrieval (answerable items)  the distinct documents of the top-10 retrieved passages, in rank
    order (the assistant's own retrieval, follow-up handling included, with k=10):
    recall@1/3/5 (a gold document among the first k), MRR, nDCG@10 (binary relevance by
    document). ``context_recall`` adds what the generator actually saw: a gold document among
    the passages of the answer (``Answer.sources``).
facts (answerable items)  an answer is fact-correct when it states ALL required facts. A fact
    is stated when one of its variants is a substring of the answer (NFKC, case-folded, citation
    markers removed), or states the same numbers: "6,6 Milliarden" = "6.6 billion" = "66亿" by
    ``qa.numbers.extract``, provided the variant's other words appear too ("ten years" needs
    "years") and the number is not part of a name ("GPT-4o" is matched literally only).
language  ``qa.lang.detect`` of the answer (markers removed) equals the item's language and no
    sentence carries words of another language (``qa.lang.foreign_words``: names aside); an
    abstention matches when its text is the abstention text of the item's language.
citations (answerable items)  precision: a citation is correct when its document is a gold
    document AND its quote's character span overlaps a span of a gold evidence string in that
    document's text. The evidence strings are minimal (one sentence per fact and document), so a
    quote of another sentence that states the same fact fails this strict check;
    ``citation_support_precision`` also accepts a gold-document quote that states a required
    fact, and only citations failing that one are listed as failures. Recall: over the facts of
    fact-correct answers, a fact is covered when a cited chunk states it (same matching as
    above) or — because fact variants need not be written in the source language — when a
    cross-lingual citation (a chunk in another language than the question's) points into a
    gold document.
abstention  precision and recall of ``abstained`` for unanswerable items; false-abstention
    rate = share of answerable items that abstained.
latency  p50/p95 (linear interpolation) of every key of ``Answer.timings``.

The metric functions are pure (plain values in, plain values out) so they are unit-tested on
hand-made fixtures in ``tests/test_evaluate.py``; everything that touches the models lives in
``evaluate_config`` and ``calibrate``.

``--calibrate`` (dev split only) measures the top-1 dense cosine of every dev question and
writes ``min_relevance`` (the lowest answerable relevance minus a 0.05 safety margin, so that no
answerable dev item abstains) to ``qa/calibration.json``, keeping the keys it does not compute;
and ``fallback_cosine``: the highest best-evidence-sentence cosine of an unanswerable dev item
plus 0.02 (above it, the assistant answers from that sentence when the model's answer failed).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from qa.text import numbers
from qa.config import PRESETS, load_config

LANGS = ("en", "de", "zh", "ar")
RETRIEVAL_K = 10
TIMING_KEYS = ("retrieve", "ttft", "generate", "verify", "total")
CALIBRATION_MARGIN = 0.05
SPLITS = ("dev", "test", "all")

# Targets for the test split: metric → (direction, value).
TARGETS: dict[str, tuple[str, float]] = {
    "fact_accuracy": (">=", 0.85),
    "citation_precision": (">=", 0.90),
    "abstention_recall": (">=", 0.90),
    "false_abstention": ("<=", 0.05),
    "language_match": (">=", 0.95),
    "recall@5": (">=", 0.95),
}

# Every key of a metrics dict, in table order (label, key, kind); kind: rate | count | seconds.
METRIC_ROWS: list[tuple[str, str, str]] = [
    ("items", "items", "count"),
    ("answerable", "answerable", "count"),
    ("unanswerable", "unanswerable", "count"),
    ("errors", "errors", "count"),
    ("recall@1", "recall@1", "rate"),
    ("recall@3", "recall@3", "rate"),
    ("recall@5", "recall@5", "rate"),
    ("MRR", "mrr", "rate"),
    ("nDCG@10", "ndcg@10", "rate"),
    ("gold doc in context", "context_recall", "rate"),
    ("fact accuracy", "fact_accuracy", "rate"),
    ("language match", "language_match", "rate"),
    ("citations", "citations", "count"),
    ("citation precision", "citation_precision", "rate"),
    ("citation support precision", "citation_support_precision", "rate"),
    ("citation recall", "citation_recall", "rate"),
    ("abstention precision", "abstention_precision", "rate"),
    ("abstention recall", "abstention_recall", "rate"),
    ("false abstention", "false_abstention", "rate"),
] + [(f"{key} p{q}", f"latency_{key}_p{q}", "seconds") for key in TIMING_KEYS for q in (50, 95)]
METRIC_KEYS: list[str] = [key for _, key, _ in METRIC_ROWS]

_MARKERS = re.compile(r"\s*[\[【]\s*\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*\s*[\]】]")
_CN_NUMERALS = set("零〇一二两三四五六七八九十百千万亿")
_CJK_DIGIT = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])(?=\d)")
_WORD_RUN = re.compile(r"[^\W\d_]+")


class GoldError(ValueError):
    """The gold file cannot be used; the message says why."""


# ---------------------------------------------------------------------------------------------
# Pure metric functions
# ---------------------------------------------------------------------------------------------

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


def evidence_spans(evidence: list[str], gold_docs: list[str],
                   doc_texts: dict[str, str]) -> dict[str, list[tuple[int, int]]]:
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


def citation_correct(doc_id: str, start: int, end: int, gold_docs: Iterable[str],
                     spans: dict[str, list[tuple[int, int]]]) -> bool:
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
        "abstention_precision": _mean(not a for a in abstentions) if abstentions else None,
        "abstention_recall": _mean(unanswerable) if unanswerable else None,
        "false_abstention": _mean(answerable_ab) if answerable_ab else None,
    }


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between order statistics (numpy's
    default); None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {q}")
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def language_ok(text: str, abstained: bool, lang: str, abstain_text: str | None = None,
                question: str = "") -> bool:
    """The answer is in the item's language (an abstention: its text is the right one), counted
    strictly: a sentence carrying words of another language (names aside, qa.lang.foreign_words)
    is a miss."""
    from qa.text.lang import detect, foreign_words

    if abstained and abstain_text is not None and text.strip() == abstain_text.strip():
        return True
    body = strip_markers(text)
    return bool(body) and detect(body) == lang and not foreign_words(body, lang, question)


def _mean(values: Iterable[float | bool]) -> float | None:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None




def classify(result: dict) -> list[str]:
    """Failure modes of one scored item (empty when it passed every check)."""
    modes: list[str] = []
    if result.get("error"):
        return ["error"]
    reason = result.get("abstain_reason")
    if result["answerable"]:
        if not result["facts_ok"]:
            missing = [f["variants"] for f in result["facts"] if not f["stated"]]
            removed = [r["text"] for r in result.get("removed", [])]
            if not set(result["context_docs"]) & set(result["gold_docs"]):
                modes.append("wrong retrieval")
            elif result["abstained"] and reason == "not_relevant":
                modes.append("abstained: relevance below threshold")
            elif result["abstained"] and reason == "model_refused":
                modes.append("model refused")
            elif any(fact_stated(f, claim) for f in missing for claim in removed):
                modes.append("verification removed a claim stating a gold fact")
            elif result["abstained"]:
                modes.append("verification removed everything")
            else:
                modes.append("answer misses a fact")
        if not result["abstained"] and not result["citations"]:
            modes.append("missing citation")
        if any(not c["supports"] for c in result["citations"]):
            modes.append("citation does not support a gold fact")
    elif not result["abstained"]:
        modes.append("answered an unanswerable question")
    if not result["lang_ok"]:
        modes.append("wrong language")
    return modes


def score_item(item: dict, answer: dict | None, retrieved: list[str], doc_texts: dict[str, str],
               chunk_texts: dict[str, str], abstain_text: str | None = None,
               error: str | None = None) -> dict:
    """One item's result: the gold item, the answer (``Answer.to_dict()``; None on error) and
    the ranked documents retrieved with k=10, scored. Plain JSON-ready values."""
    answer = answer or {"text": "", "abstained": False, "citations": [], "sources": [], "timings": {},
                        "notes": []}
    text = answer["text"]
    gold_docs = list(item.get("gold_docs") or [])
    facts = list(item.get("facts") or [])
    spans = evidence_spans(list(item.get("evidence") or []), gold_docs, doc_texts)
    stated = facts_stated(facts, text) if not answer["abstained"] and not error else [False] * len(facts)
    citations = []
    for c in answer["citations"]:
        correct = citation_correct(c["doc_id"], c["start"], c["end"], gold_docs, spans)
        citations.append({
            **{k: c[k] for k in ("n", "doc_id", "chunk_id", "lang", "start", "end", "quote", "support") if k in c},
            "correct": correct,
            "supports": correct or citation_supports(c["doc_id"], c.get("quote", ""), gold_docs, facts)})
    facts_ok = bool(facts) and all(stated)
    cited = [{"doc_id": c["doc_id"], "lang": c.get("lang"), "text": chunk_texts.get(c["chunk_id"], c.get("quote", ""))}
             for c in answer["citations"]]
    covered = facts_covered(facts, cited, gold_docs, item["lang"]) if facts_ok else [False] * len(facts)
    result = {
        "id": item["id"],
        "lang": item["lang"],
        "question": item["question"],
        "answerable": bool(item["answerable"]),
        "follows": item.get("follows"),
        "tags": list(item.get("tags") or []),
        "gold_docs": gold_docs,
        "evidence_found": {d: len(s) for d, s in spans.items()},
        "text": text,
        "abstained": bool(answer["abstained"]),
        "lang_ok": False if error else language_ok(text, answer["abstained"], item["lang"], abstain_text,
                                                             item.get("question", "")),
        "facts": [{"variants": f, "stated": s, "covered": c} for f, s, c in zip(facts, stated, covered)],
        "facts_ok": facts_ok,
        "retrieved_docs": list(retrieved),
        "context_docs": distinct_docs(p["doc_id"] for p in answer.get("sources", [])),
        "citations": citations,
        "timings": dict(answer.get("timings", {})),
        "notes": list(answer.get("notes", [])),
        "removed": list(answer.get("removed", [])),
        "abstain_reason": answer.get("abstain_reason"),
        "error": error,
        "answer": answer,
    }
    result["failures"] = classify(result)
    return result


def aggregate(results: list[dict]) -> dict[str, float | int | None]:
    """Every metric of METRIC_KEYS over a list of scored items (None when undefined)."""
    ans = [r for r in results if r["answerable"]]
    m: dict[str, float | int | None] = {
        "items": len(results),
        "answerable": len(ans),
        "unanswerable": len(results) - len(ans),
        "errors": sum(1 for r in results if r.get("error")),
    }
    for k in (1, 3, 5):
        m[f"recall@{k}"] = _mean(recall_at_k(r["retrieved_docs"], r["gold_docs"], k) for r in ans)
    m["mrr"] = _mean(reciprocal_rank(r["retrieved_docs"], r["gold_docs"]) for r in ans)
    m["ndcg@10"] = _mean(ndcg_at_k(r["retrieved_docs"], r["gold_docs"], 10) for r in ans)
    m["context_recall"] = _mean(bool(set(r["context_docs"]) & set(r["gold_docs"])) for r in ans)
    m["fact_accuracy"] = _mean(r["facts_ok"] for r in ans)
    m["language_match"] = _mean(r["lang_ok"] for r in results)
    cits = [c["correct"] for r in ans for c in r["citations"]]
    m["citations"] = len(cits)
    m["citation_precision"] = _mean(cits)
    m["citation_support_precision"] = _mean(c["supports"] for r in ans for c in r["citations"])
    m["citation_recall"] = _mean(f["covered"] for r in ans if r["facts_ok"] for f in r["facts"])
    m.update(abstention_metrics([r["answerable"] for r in results], [r["abstained"] for r in results]))
    for key in TIMING_KEYS:
        values = [r["timings"][key] for r in results if key in r.get("timings", {})]
        for q in (50, 95):
            p = percentile(values, q)
            m[f"latency_{key}_p{q}"] = None if p is None else round(p, 4)
    return m


def target_met(key: str, value: float | None) -> bool | None:
    """True/False against TARGETS; None when the metric has no target or no value."""
    if key not in TARGETS or value is None:
        return None
    op, goal = TARGETS[key]
    return value >= goal if op == ">=" else value <= goal


def calibrate_threshold(answerable: list[float], unanswerable: list[float],
                        margin: float = CALIBRATION_MARGIN) -> dict[str, float | int | None]:
    """min_relevance just below the lowest answerable relevance (minus `margin`), so no
    answerable item abstains; plus how many unanswerable items it would still catch."""
    if not answerable:
        raise ValueError("calibration needs at least one answerable item")
    lowest = min(answerable)
    threshold = round(math.floor((lowest - margin) * 10_000) / 10_000, 4)
    return {
        "min_relevance": threshold,
        "answerable_min": round(lowest, 4),
        "unanswerable_max": round(max(unanswerable), 4) if unanswerable else None,
        "unanswerable_caught": sum(1 for r in unanswerable if r < threshold),
        "unanswerable": len(unanswerable),
    }


# ---------------------------------------------------------------------------------------------
# Gold file
# ---------------------------------------------------------------------------------------------

def load_gold(path: Path) -> list[dict]:
    """The gold items of a JSONL file; GoldError saying which line is wrong and how."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GoldError(f"gold file {path} does not exist (pass --gold FILE)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise GoldError(f"cannot read gold file {path}: {err}") from None
    items, seen = [], set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise GoldError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
        if not isinstance(item, dict):
            raise GoldError(f"{path}:{lineno}: each line must be a JSON object")
        missing = [k for k in ("id", "question", "lang", "answerable") if k not in item]
        if missing:
            raise GoldError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
        if item["answerable"] and not item.get("facts"):
            raise GoldError(f"{path}:{lineno}: answerable item {item['id']} has no facts")
        if item["id"] in seen:
            raise GoldError(f"{path}:{lineno}: duplicate id {item['id']}")
        seen.add(item["id"])
        item.setdefault("split", "dev")
        items.append(item)
    if not items:
        raise GoldError(f"gold file {path} has no items")
    return items


def select(items: list[dict], split: str, limit: int | None = None) -> list[dict]:
    chosen = [it for it in items if split == "all" or it.get("split") == split]
    return chosen[:limit] if limit else chosen


# ---------------------------------------------------------------------------------------------
# Running the assistant
# ---------------------------------------------------------------------------------------------

def cited_texts(store, answer: dict | None) -> dict[str, str]:
    """unit id → text of every unit an answer (Answer.to_dict()) cites, read from the store."""
    with store.reading():
        units = {c["chunk_id"]: store.unit(c["chunk_id"]) for c in (answer or {}).get("citations") or []}
    return {i: u.text for i, u in units.items() if u is not None}


def evaluate_config(name: str, items: list[dict], say=print) -> tuple[list[dict], dict]:
    """Answer every item with one Assistant of configuration `name`; the scored items and a
    description of the run (config, index)."""
    from qa.answering.assistant import Assistant, clean_question
    from qa.answering.cite import abstain_text
    from qa.store.base import documents_of

    cfg = load_config(name)
    assistant = Assistant(cfg)
    store = assistant.store
    doc_texts = {d: doc.text for d, doc in documents_of(store, store.document_ids()).items()}
    unknown = sorted({d for it in items for d in it.get("gold_docs") or [] if d not in doc_texts})
    if unknown:
        say(f"warning: gold documents not in the index ({cfg.seeds_dir}): {', '.join(unknown)}")
    answered: dict[str, tuple[str, str]] = {}
    results = []
    for i, item in enumerate(items, 1):
        history: list[dict] = []
        error = None
        prev = item.get("follows")
        if prev and prev in answered:
            history = [{"role": "user", "content": answered[prev][0]},
                       {"role": "assistant", "content": answered[prev][1]}]
        answer, ranked = None, []
        started = time.perf_counter()
        try:
            question = clean_question(item["question"])
            answer = assistant.answer(question, history).to_dict()
            passages, _, _ = assistant.retrieve(question, history, k=RETRIEVAL_K)
            ranked = distinct_docs(p.doc_id for p in passages)
        except Exception as err:  # one broken item must not end the run; it is reported
            error = f"{err.__class__.__name__}: {err}"
        chunk_texts = cited_texts(store, answer)
        result = score_item(item, answer, ranked, doc_texts, chunk_texts, abstain_text(item["lang"]), error)
        if prev and prev not in answered:
            result["notes"].append(f"asked without history: {prev} is not part of this run")
        answered[item["id"]] = (item["question"], result["text"])
        results.append(result)
        status = "ok" if not result["failures"] else "; ".join(result["failures"])
        say(f"[{name}] {i}/{len(items)} {item['id']} {time.perf_counter() - started:.1f} s  {status}")
    run_info = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
                "index": {k: store.manifest.get(k) for k in ("created", "embed_model", "chunks")},
                "min_relevance": assistant.min_relevance, "support_threshold": assistant.support_threshold}
    return results, run_info


def calibrate(items: list[dict], gold_path: Path, say=print) -> dict:
    """Measure the top-1 dense relevance of every item with the default configuration and
    write min_relevance to qa/calibration.json (other keys are kept)."""
    from qa.answering import cite
    from qa.answering.assistant import CALIBRATION_FILE, Assistant, calibration, clean_question

    assistant = Assistant(load_config("default"))
    rel: dict[str, float] = {}
    best: dict[str, float] = {}
    by_id = {it["id"]: it for it in items}
    for item in items:
        prev = by_id.get(item.get("follows") or "")
        history = [{"role": "user", "content": prev["question"]}] if prev else []
        found = assistant.select_evidence(clean_question(item["question"]), history)
        rel[item["id"]] = found.relevance
        best[item["id"]] = found.best.score if found.best else -1.0
        say(f"{item['id']} {'answerable  ' if item['answerable'] else 'unanswerable'} relevance "
            f"{found.relevance:.4f}, best evidence sentence {best[item['id']]:.4f}")
    found = calibrate_threshold([rel[i["id"]] for i in items if i["answerable"]],
                                [rel[i["id"]] for i in items if not i["answerable"]])
    # the evidence-sentence answer of last resort only above every unanswerable dev question's
    # best sentence (+0.02): it must never answer what the articles do not say
    unanswerable_best = max((best[i["id"]] for i in items if not i["answerable"]), default=0.63)
    data = calibration()
    data.update({
        "min_relevance": found["min_relevance"],
        "support_threshold": data.get("support_threshold", cite.SUPPORT_THRESHOLD),
        "source": f"dev split of {gold_path}, {len(items)} items, {time.strftime('%Y-%m-%d')}",
        "answerable_min": found["answerable_min"],
        "unanswerable_max": found["unanswerable_max"],
        "fallback_cosine": round(unanswerable_best + 0.02, 4),
        "evidence_unanswerable_max": round(unanswerable_best, 4),
    })
    tmp = CALIBRATION_FILE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(CALIBRATION_FILE)
    say(f"min_relevance = {found['min_relevance']} (lowest answerable {found['answerable_min']}, highest "
        f"unanswerable {found['unanswerable_max']}; catches {found['unanswerable_caught']} of "
        f"{found['unanswerable']} unanswerable dev items before generation)")
    say(f"written to {CALIBRATION_FILE}")
    return data


# ---------------------------------------------------------------------------------------------
# Report: table, failures, JSON, chart
# ---------------------------------------------------------------------------------------------

def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "count":
        return str(int(value))
    if kind == "seconds":
        return f"{value:.2f} s"
    return f"{value:.3f}"


def format_table(columns: dict[str, dict], with_targets: bool = True) -> str:
    """Rows = metrics, one column per name; ✓/✗ after values that have a target."""
    names = list(columns)
    width = max(len(label) for label, _, _ in METRIC_ROWS) + 2
    col = max(12, *(len(n) + 2 for n in names))
    header = "metric".ljust(width) + "".join(n.rjust(col) for n in names)
    if with_targets:
        header += "   target"
    lines = [header, "-" * len(header)]
    for label, key, kind in METRIC_ROWS:
        cells = []
        for n in names:
            value = columns[n].get(key)
            met = target_met(key, value) if with_targets else None
            cells.append((_fmt(value, kind) + ("" if met is None else (" ✓" if met else " ✗"))).rjust(col))
        row = label.ljust(width) + "".join(cells)
        if with_targets and key in TARGETS:
            row += f"   {TARGETS[key][0]} {TARGETS[key][1]:.2f}"
        lines.append(row)
    return "\n".join(lines)


def format_failures(results: list[dict]) -> str:
    failed = [r for r in results if r["failures"]]
    modes = Counter(m for r in failed for m in r["failures"])
    lines = [f"{len(failed)} of {len(results)} items failed a check"]
    if modes:
        lines.append("failure modes: " + ", ".join(f"{m} ×{n}" for m, n in modes.most_common()))
    for r in failed:
        expected = " ; ".join(" | ".join(f["variants"][:3]) + (" …" if len(f["variants"]) > 3 else "")
                              for f in r["facts"]) or "(unanswerable: abstain)"
        lines.append(f"\n- {r['id']} [{', '.join(r['failures'])}] {r['question']}")
        lines.append(f"    expected: {expected}")
        lines.append(f"    answer:   {' '.join(r['text'].split()) or '(none)'}")
        if r["error"]:
            lines.append(f"    error:    {r['error']}")
        lines.append(f"    retrieved: {', '.join(r['retrieved_docs'][:5]) or '–'}; "
                     f"gold: {', '.join(r['gold_docs']) or '–'}")
        bad = [f"[{c['n']}] {c['doc_id']}: {' '.join(c.get('quote', '').split())[:120]}"
               for c in r["citations"] if not c["supports"]]
        for b in bad:
            lines.append(f"    unsupported citation {b}")
        for note in r["notes"]:
            lines.append(f"    note:     {' '.join(note.split())}")
    return "\n".join(lines)


def write_chart(report: dict, path: Path) -> Path:
    """A grouped bar chart of the rate metrics, one colour per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["recall@5", "mrr", "ndcg@10", "context_recall", "fact_accuracy", "language_match",
            "citation_precision", "citation_support_precision", "citation_recall", "abstention_precision",
            "abstention_recall", "false_abstention"]
    names = list(report["configs"])
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(12, 4.8))
    for j, name in enumerate(names):
        metrics = report["configs"][name]["metrics"]
        xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(keys))]
        ax.bar(xs, [metrics.get(k) or 0.0 for k in keys], width, label=name)
        for x, k in zip(xs, keys):
            if metrics.get(k) is None:
                ax.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    for i, k in enumerate(keys):
        if k in TARGETS:
            ax.hlines(TARGETS[k][1], i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([k.replace("_", " ") for k in keys], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"qa eval — {report['split']} split, {report['items']} items (dashed: target)")
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold", type=Path, default=None,
                        help="gold JSONL file (default: gold.jsonl in the seeds folder, QA_SEEDS_DIR)")
    parser.add_argument("--split", choices=SPLITS, default="dev", help="which items to ask (default: dev)")
    parser.add_argument("--json", type=Path, default=None, dest="json_path",
                        help="report path (default: reports/eval-<split>.json; a .png chart is written next to it)")
    parser.add_argument("--config", default="default",
                        help=f"configuration(s) to compare, comma-separated: {', '.join(PRESETS)}")
    parser.add_argument("--limit", type=_positive, default=None, help="only the first N items of the split")
    parser.add_argument("--calibrate", action="store_true",
                        help="dev split only: measure retrieval relevance with the default configuration and "
                             "write min_relevance to qa/calibration.json (no answers are generated)")
    parser.set_defaults(func=run)


def _err(message: str) -> int:
    print(f"qa eval: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    names = list(dict.fromkeys(n.strip() for n in str(args.config).split(",") if n.strip()))
    unknown = [n for n in names if n not in PRESETS]
    if not names or unknown:
        return _err(f"unknown configuration {', '.join(unknown) or repr(args.config)}; "
                    f"choose from: {', '.join(PRESETS)}")
    gold_path = args.gold or load_config().seeds_dir / "gold.jsonl"
    if args.calibrate and args.split != "dev":
        return _err(f"--calibrate tunes thresholds on the dev split only; calibrating on '{args.split}' "
                    "would leak the test items into the settings they are meant to test. Use --split dev.")
    try:
        items = select(load_gold(gold_path), args.split, args.limit)
    except GoldError as err:
        return _err(str(err))
    if not items:
        return _err(f"{gold_path} has no items in the '{args.split}' split")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.calibrate:
        if names != ["default"]:
            say("qa eval: calibration always uses the default configuration")
        calibrate(items, gold_path, say)
        return 0

    report: dict = {"gold": str(gold_path), "split": args.split, "limit": args.limit, "items": len(items),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "targets": {k: {"op": op, "value": v} for k, (op, v) in TARGETS.items()},
                    "metric_keys": METRIC_KEYS, "configs": {}}
    for name in names:
        results, info = evaluate_config(name, items, say)
        by_lang = {lang: aggregate([r for r in results if r["lang"] == lang])
                   for lang in LANGS if any(r["lang"] == lang for r in results)}
        report["configs"][name] = {**info, "metrics": aggregate(results), "by_lang": by_lang,
                                   "failure_modes": dict(Counter(m for r in results for m in r["failures"])),
                                   "items": results}

    first = names[0]
    print(f"\nqa eval — {gold_path}, split {args.split}, {len(items)} items"
          f"{f' (first {args.limit})' if args.limit else ''}; ✓/✗ against the test-split targets\n")
    print(format_table({n: report["configs"][n]["metrics"] for n in names}))
    print(f"\nby language ({first}):\n")
    print(format_table(report["configs"][first]["by_lang"], with_targets=False))
    print(f"\nfailures ({first}):")
    print(format_failures(report["configs"][first]["items"]))

    json_path = args.json_path or Path("reports") / f"eval-{args.split}.json"
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        chart = write_chart(report, json_path.with_suffix(".png"))
    except OSError as err:
        return _err(f"cannot write the report to {json_path}: {err}")
    print(f"\nreport: {json_path}\nchart:  {chart}")
    return 0
