"""`qa eval`: measure the assistant against a gold set (default ``seeds/gold.jsonl``).

    qa eval [--gold FILE] [--split dev|test|all] [--json PATH] [--config NAME[,NAME…]]
            [--tag TAG[,TAG…]] [--limit N] [--calibrate]

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
import sys
import time
from collections import Counter
from pathlib import Path

from qa.answering import checks
from qa.answering.assistant import Assistant
from qa.answering.inputs import clean_question
from qa.answering.refusal import abstain_text
from qa.config import CALIBRATED, PRESETS, calibration, load_config, name_list, write_calibration
from qa.measure.eval_report import format_report, tagged, write_chart
from qa.measure.gold import SPLITS, GoldError, known_tags, load_gold, select
from qa.measure.metrics import distinct_docs
from qa.measure.scoring import METRIC_KEYS, TARGETS, aggregate, calibrate_threshold, score_item
from qa.store.base import documents_of

LANGS = ("en", "de", "zh", "ar")
RETRIEVAL_K = 10


def cited_texts(store, answer: dict | None) -> dict[str, str]:
    """unit id → text of every unit an answer (Answer.to_dict()) cites, read from the store."""
    with store.reading():
        units = {c["chunk_id"]: store.unit(c["chunk_id"]) for c in (answer or {}).get("citations") or []}
    return {i: u.text for i, u in units.items() if u is not None}


def evaluate_config(name: str, items: list[dict], say=print, off: tuple[str, ...] = ()) -> tuple[list[dict], dict]:
    """Answer every item with one Assistant of configuration `name` (with the checks named in
    `off` switched off too); the scored items and a description of the run (config, index)."""
    cfg = load_config(name)
    if off:
        cfg = cfg.with_(checks__off=tuple(dict.fromkeys(cfg.checks.off + off)))
    assistant = Assistant(cfg)
    cfg = assistant.cfg
    store = assistant.store
    doc_texts = {d: doc.text for d, doc in documents_of(store, store.document_ids()).items()}
    unknown = sorted({d for it in items for d in it.get("gold_docs") or [] if d not in doc_texts})
    if unknown:
        say(f"warning: gold documents not in the index ({cfg.paths.seeds_dir}): {', '.join(unknown)}")
    answered: dict[str, tuple[str, str]] = {}
    results = []
    for i, item in enumerate(items, 1):
        started = time.perf_counter()
        result = evaluate_item(assistant, item, answered, doc_texts)
        answered[item["id"]] = (item["question"], result["text"])
        results.append(result)
        status = "ok" if not result["failures"] else "; ".join(result["failures"])
        say(f"[{name}] {i}/{len(items)} {item['id']} {time.perf_counter() - started:.1f} s  {status}")
    run_info = {
        "config": cfg.to_dict(),
        "index": {k: store.manifest.get(k) for k in ("created", "embed_model", "chunks")},
        "min_relevance": cfg.retrieval.min_relevance,
        "support_threshold": cfg.checks.support_threshold,
    }
    return results, run_info


def evaluate_item(
    assistant: Assistant, item: dict, answered: dict[str, tuple[str, str]], doc_texts: dict[str, str]
) -> dict:
    """One item answered and scored; a follow-up is asked with the question and answer it follows
    as history when that item was answered earlier in this run (`answered`: id → both)."""
    prev = item.get("follows")
    history: list[dict] = []
    if prev and prev in answered:
        history = [{"role": "user", "content": answered[prev][0]}, {"role": "assistant", "content": answered[prev][1]}]
    answer, ranked, error = None, [], None
    try:
        question = clean_question(item["question"])
        answer = assistant.answer(question, history).to_dict()
        found = assistant.retrieve(question, history, k=RETRIEVAL_K)
        ranked = distinct_docs(p.doc_id for p in found.passages)
    except Exception as err:  # one broken item must not end the run; it is reported
        error = f"{err.__class__.__name__}: {err}"
    chunk_texts = cited_texts(assistant.store, answer)
    result = score_item(item, answer, ranked, doc_texts, chunk_texts, abstain_text(item["lang"]), error)
    if prev and prev not in answered:
        result["notes"].append(f"asked without history: {prev} is not part of this run")
    return result


def calibrate(items: list[dict], gold_path: Path, say=print) -> dict:
    """Measure the top-1 dense relevance of every item with the default configuration and
    write min_relevance to qa/calibration.json (other keys are kept)."""
    rel, best = relevances(Assistant(load_config("default")), items, say)
    found = calibrate_threshold(
        [rel[i["id"]] for i in items if i["answerable"]], [rel[i["id"]] for i in items if not i["answerable"]]
    )
    # the evidence-sentence answer of last resort only above every unanswerable dev question's
    # best sentence (+0.02): it must never answer what the articles do not say
    unanswerable_best = max((best[i["id"]] for i in items if not i["answerable"]), default=0.63)
    data = calibration()
    data.update(
        {
            "min_relevance": found["min_relevance"],
            "support_threshold": data.get("support_threshold", CALIBRATED[("checks", "support_threshold")][1]),
            "source": f"dev split of {gold_path}, {len(items)} items, {time.strftime('%Y-%m-%d')}",
            "answerable_min": found["answerable_min"],
            "unanswerable_max": found["unanswerable_max"],
            "fallback_cosine": round(unanswerable_best + 0.02, 4),
            "evidence_unanswerable_max": round(unanswerable_best, 4),
        }
    )
    path = write_calibration(data)
    say(
        f"min_relevance = {found['min_relevance']} (lowest answerable {found['answerable_min']}, highest "
        f"unanswerable {found['unanswerable_max']}; catches {found['unanswerable_caught']} of "
        f"{found['unanswerable']} unanswerable dev items before generation)"
    )
    say(f"written to {path}")
    return data


def relevances(assistant: Assistant, items: list[dict], say=print) -> tuple[dict[str, float], dict[str, float]]:
    """Per item id: the relevance of its best retrieved passage, and the cosine of its best
    evidence sentence (-1.0 when there is none); a follow-up with its question as history."""
    rel: dict[str, float] = {}
    best: dict[str, float] = {}
    by_id = {it["id"]: it for it in items}
    for item in items:
        prev = by_id.get(item.get("follows") or "")
        history = [{"role": "user", "content": prev["question"]}] if prev else []
        found = assistant.select_evidence(clean_question(item["question"]), history)
        rel[item["id"]] = found.relevance
        best[item["id"]] = found.best.score if found.best else -1.0
        say(
            f"{item['id']} {'answerable  ' if item['answerable'] else 'unanswerable'} relevance "
            f"{found.relevance:.4f}, best evidence sentence {best[item['id']]:.4f}"
        )
    return rel, best


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gold",
        type=Path,
        default=None,
        help="gold JSONL file (default: gold.jsonl in the seeds folder, QA_SEEDS_DIR)",
    )
    parser.add_argument("--split", choices=SPLITS, default="dev", help="which items to ask (default: dev)")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        dest="json_path",
        help="report path (default: reports/eval-<split>[-<tag>…].json; a .png chart is written next to it)",
    )
    parser.add_argument(
        "--config", default="default", help=f"configuration(s) to compare, comma-separated: {', '.join(PRESETS)}"
    )
    parser.add_argument(
        "--off",
        default="",
        help="checks or steps to switch off, comma-separated, to measure what each is worth: "
        + ", ".join(checks.NAMES),
    )
    parser.add_argument(
        "--tag",
        default="",
        help="only the items carrying every one of these gold tags, comma-separated "
        "(two-part, cross-lingual, why, …), and the items a chosen follow-up follows: to measure "
        "a lever on one class of questions",
    )
    parser.add_argument("--limit", type=_positive, default=None, help="only the first N items of the split")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="dev split only: measure retrieval relevance with the default configuration and "
        "write min_relevance to qa/calibration.json (no answers are generated)",
    )
    parser.set_defaults(func=run)


def default_report_path(split: str, tags: tuple[str, ...] = ()) -> Path:
    """reports/eval-<split>.json, or reports/eval-<split>-<tag>….json for a run over tagged
    items, so that it does not overwrite the whole split's report."""
    return Path("reports") / f"{'-'.join(['eval', split, *tags])}.json"


def _err(message: str) -> int:
    print(f"qa eval: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    names = list(dict.fromkeys(n.strip() for n in str(args.config).split(",") if n.strip()))
    off, tags = name_list(str(args.off)), name_list(str(args.tag))
    if problem := _arguments_problem(args, names, off, tags):
        return _err(problem)
    gold_path = args.gold or load_config().paths.seeds_dir / "gold.jsonl"
    try:
        gold = load_gold(gold_path)
    except GoldError as err:
        return _err(str(err))
    known = known_tags(gold)
    if unknown := [t for t in tags if t not in known]:
        return _err(f"no gold item is tagged {', '.join(unknown)}; the tags are: {', '.join(known)}")
    items = select(gold, args.split, args.limit, tags)
    if not items:
        return _err(f"{gold_path} has no items{tagged(tags)} in the '{args.split}' split")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.calibrate:
        if names != ["default"]:
            say("qa eval: calibration always uses the default configuration")
        calibrate(items, gold_path, say)
        return 0

    report = evaluate(names, items, gold_path, args.split, args.limit, say, off, tags)
    print(format_report(report, names, gold_path, args.split, args.limit))
    json_path = args.json_path or default_report_path(args.split, tags)
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        chart = write_chart(report, json_path.with_suffix(".png"))
    except OSError as err:
        return _err(f"cannot write the report to {json_path}: {err}")
    print(f"\nreport: {json_path}\nchart:  {chart}")
    return 0


def _arguments_problem(args, names: list[str], off: tuple[str, ...], tags: tuple[str, ...]) -> str | None:
    """What is wrong with the command line before any gold item is read, or None."""
    unknown = [n for n in names if n not in PRESETS]
    if not names or unknown:
        return f"unknown configuration {', '.join(unknown) or repr(args.config)}; choose from: {', '.join(PRESETS)}"
    try:
        checks.enabled(off)
    except ValueError as err:
        return str(err)
    if args.calibrate and args.split != "dev":
        return (
            f"--calibrate tunes thresholds on the dev split only; calibrating on '{args.split}' "
            "would leak the test items into the settings they are meant to test. Use --split dev."
        )
    if args.calibrate and (tags or args.limit):
        return (
            "--calibrate measures every dev item: thresholds set from a subset (--tag, --limit) would "
            "hold for those questions only. Leave out --tag and --limit."
        )
    return None


def evaluate(
    names: list[str],
    items: list[dict],
    gold_path: Path,
    split: str,
    limit: int | None,
    say,
    off: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
) -> dict:
    """Every configuration of `names` over the items: the report written as JSON."""
    report: dict = {
        "gold": str(gold_path),
        "split": split,
        "limit": limit,
        "tags": list(tags),
        "items": len(items),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "targets": {k: {"op": op, "value": v} for k, (op, v) in TARGETS.items()},
        "metric_keys": METRIC_KEYS,
        "configs": {},
        "off": list(off),
    }
    for name in names:
        results, info = evaluate_config(name, items, say, off)
        by_lang = {
            lang: aggregate([r for r in results if r["lang"] == lang])
            for lang in LANGS
            if any(r["lang"] == lang for r in results)
        }
        report["configs"][name] = {
            **info,
            "metrics": aggregate(results),
            "by_lang": by_lang,
            "failure_modes": dict(Counter(m for r in results for m in r["failures"])),
            "items": results,
        }
    return report
