"""Tests of `qa eval`: the pure metric functions on tiny hand-made fixtures, the gold loader and
the command's input checks, and one end-to-end smoke run on three dev items (real models)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from qa.measure import gold, metrics, scoring, stats

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- fact matching


@pytest.mark.parametrize(
    "variant, answer",
    [
        ("Anthropic", "Er wechselte zu anthropic [1]."),  # case-insensitive
        ("ＯｐｅｎＡＩ", "He joins OpenAI [1]."),  # NFKC (full-width letters)
        ("6,6 Milliarden", "OpenAI raised 6.6 billion dollars [1]."),
        ("6.6 billion", "OpenAI 融资66亿美元[1]。"),  # Chinese, no spaces around the number
        ("66亿", "It raised $6.6 billion [2]."),
        ("ten years", "He has been at Microsoft for 10 years [1]."),
        ("عشر سنوات", "عمل بوبيك 10 سنوات [1]."),
        ("49", "Meta kaufte 49 % der Anteile [1]."),
    ],
)
def test_variant_stated(variant, answer):
    assert metrics.variant_stated(variant, answer)


@pytest.mark.parametrize(
    "variant, answer",
    [
        ("GPT-4o", "Phi-3.5 beat GPT-4 in one benchmark [1]."),  # a number inside a name is literal
        ("ten years", "He worked there 10 months [1]."),  # the unit must match too
        ("6,6 Milliarden", "OpenAI raised 6.5 billion dollars [1]."),
        ("1", "See the article [1]."),  # citation markers are not numbers
        ("Princeton", "He was a professor [1]."),
    ],
)
def test_variant_not_stated(variant, answer):
    assert not metrics.variant_stated(variant, answer)


def test_facts_stated_needs_each_fact():
    facts = [["Microsoft", "微软"], ["OpenAI"]]
    assert metrics.facts_stated(facts, "Bubeck verlässt Microsoft und geht zu OpenAI [1].") == [True, True]
    assert metrics.facts_stated(facts, "毕贝克将离开微软 [1]。") == [True, False]


def test_strip_markers():
    assert (
        metrics.strip_markers("Er geht zu OpenAI [1][2]. Seit zehn Jahren [1, 3].")
        == "Er geht zu OpenAI. Seit zehn Jahren."
    )
    assert metrics.strip_markers("他去了OpenAI【1】。") == "他去了OpenAI。"


# --------------------------------------------------------------------------- retrieval


def test_distinct_docs_keeps_rank_order():
    assert metrics.distinct_docs(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_recall_at_k():
    ranked = ["x", "y", "g2", "z"]
    assert metrics.recall_at_k(ranked, {"g1", "g2"}, 1) == 0.0
    assert metrics.recall_at_k(ranked, {"g1", "g2"}, 3) == 1.0
    assert metrics.recall_at_k([], {"g1"}, 5) == 0.0


def test_reciprocal_rank():
    assert metrics.reciprocal_rank(["g", "x"], {"g"}) == 1.0
    assert metrics.reciprocal_rank(["x", "y", "g"], {"g"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(["x", "y"], {"g"}) == 0.0


def test_ndcg_binary_relevance():
    assert metrics.ndcg_at_k(["g1", "g2", "x"], {"g1", "g2"}) == pytest.approx(1.0)
    # one of two gold docs at rank 2: (1/log2 3) / (1 + 1/log2 3)
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["x", "g1"], {"g1", "g2"}) == pytest.approx(expected)
    assert metrics.ndcg_at_k(["x", "y"], {"g1"}) == 0.0
    assert metrics.ndcg_at_k(["x"] * 10 + ["g1"], {"g1"}, k=10) == 0.0  # beyond the cut-off


# --------------------------------------------------------------------------- citations

DOCS = {
    "d1": "Intro sentence. Bubeck joins OpenAI after ten years. Another sentence here.",
    "d2": "Nothing relevant at all in this one.",
}


def test_evidence_spans_locates_every_occurrence():
    spans = metrics.evidence_spans(["Bubeck joins OpenAI"], ["d1", "d2", "missing"], DOCS)
    start = DOCS["d1"].index("Bubeck")
    assert spans == {"d1": [(start, start + len("Bubeck joins OpenAI"))]}


def test_citation_overlap():
    spans = metrics.evidence_spans(["Bubeck joins OpenAI"], ["d1"], DOCS)
    start = DOCS["d1"].index("Bubeck")
    assert metrics.citation_correct("d1", start + 5, start + 40, ["d1"], spans)  # overlaps
    assert not metrics.citation_correct("d1", 0, start, ["d1"], spans)  # ends where it starts
    assert not metrics.citation_correct("d2", start, start + 10, ["d1"], spans)  # not a gold doc
    assert metrics.overlaps((0, 5), (4, 9)) and not metrics.overlaps((0, 5), (5, 9))


def test_citation_supports_accepts_another_sentence_stating_a_fact():
    facts = [["OpenAI"], ["zehn Jahre", "ten years"]]
    assert metrics.citation_supports("d1", "Er wechselt bald zu OpenAI.", ["d1"], facts)
    assert not metrics.citation_supports("d2", "Er wechselt bald zu OpenAI.", ["d1"], facts)  # not a gold doc
    assert not metrics.citation_supports("d1", "Der kleine Phi-1 debütierte.", ["d1"], facts)  # states no fact


def test_facts_covered_by_text_or_cross_lingual_gold_doc():
    facts = [["OpenAI"], ["ten years", "zehn Jahre"]]
    cited = [{"doc_id": "d1", "lang": "en", "text": "Bubeck joins OpenAI."}]
    assert metrics.facts_covered(facts, cited, ["d1"], "en") == [True, False]
    german = [{"doc_id": "d1", "lang": "de", "text": "Er ist seit einem Jahrzehnt dort."}]
    assert metrics.facts_covered(facts, german, ["d1"], "en") == [True, True]  # cross-lingual, gold doc
    assert metrics.facts_covered(facts, german, ["d2"], "en") == [False, False]  # cross-lingual, wrong doc


# --------------------------------------------------------------------------- abstention, latency


def test_abstention_metrics():
    answerable = [True, True, True, True, False, False]
    abstained = [False, False, False, True, True, False]
    m = metrics.abstention_metrics(answerable, abstained)
    assert m["abstention_precision"] == pytest.approx(0.5)  # 1 of 2 abstentions was right
    assert m["abstention_recall"] == pytest.approx(0.5)  # 1 of 2 unanswerable caught
    assert m["false_abstention"] == pytest.approx(0.25)  # 1 of 4 answerable abstained
    assert metrics.abstention_metrics([True], [False])["abstention_precision"] is None


def test_percentile_interpolates():
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert stats.percentile([5.0], 95) == 5.0
    assert stats.percentile([], 50) is None
    assert stats.percentile(list(map(float, range(101))), 95) == pytest.approx(95.0)


def test_calibrate_threshold_never_cuts_an_answerable_item():
    found = scoring.calibrate_threshold([0.61, 0.55, 0.72], [0.30, 0.52])
    assert found["min_relevance"] == pytest.approx(0.50)
    assert found["min_relevance"] <= found["answerable_min"] == 0.55
    assert found["unanswerable_max"] == 0.52 and found["unanswerable_caught"] == 1


# --------------------------------------------------------------------------- scoring an item


def _answer(text, citations, abstained=False, notes=(), sources=("d1",), removed=(), reason=None):
    return {
        "text": text,
        "abstained": abstained,
        "citations": citations,
        "notes": list(notes),
        "sources": [{"doc_id": d} for d in sources],
        "timings": {"total": 1.0},
        "removed": [{"text": t, "reason": r, "detail": ""} for t, r in removed],
        "abstain_reason": reason,
    }


def test_score_item_and_aggregate():
    start = DOCS["d1"].index("Bubeck")
    item = {
        "id": "en-900",
        "question": "Where does Bubeck go?",
        "lang": "en",
        "answerable": True,
        "facts": [["OpenAI"]],
        "gold_docs": ["d1"],
        "evidence": ["Bubeck joins OpenAI after ten years."],
    }
    cit = {
        "n": 1,
        "doc_id": "d1",
        "chunk_id": "d1#0",
        "lang": "en",
        "start": start,
        "end": start + 20,
        "quote": DOCS["d1"][start : start + 20],
    }
    good = scoring.score_item(
        item,
        _answer("Bubeck is joining OpenAI [1].", [cit]),
        ["d1", "d2"],
        DOCS,
        {"d1#0": DOCS["d1"]},
        "The articles don't contain an answer to this question.",
    )
    assert good["facts_ok"] and good["lang_ok"] and good["failures"] == []
    assert good["citations"][0]["correct"] and good["facts"][0]["covered"]

    unanswerable = {"id": "en-901", "question": "What is the capital of Australia?", "lang": "en", "answerable": False}
    answered = scoring.score_item(
        unanswerable,
        _answer("Canberra is the capital [1].", [cit]),
        ["d1"],
        DOCS,
        {},
        "The articles don't contain an answer to this question.",
    )
    assert answered["failures"] == ["answered an unanswerable question"]

    removed = scoring.score_item(
        item,
        _answer(
            "The articles don't contain an answer to this question.",
            [],
            abstained=True,
            removed=[("Bubeck joins OpenAI.", "number_not_in_sources")],
            reason="nothing_supported",
        ),
        ["d1"],
        DOCS,
        {},
        "The articles don't contain an answer to this question.",
    )
    assert not removed["facts_ok"] and removed["lang_ok"]  # the abstention is in English
    assert "verification removed a claim stating a gold fact" in removed["failures"]

    m = scoring.aggregate([good, answered, removed])
    assert set(scoring.METRIC_KEYS) <= set(m)
    assert m["fact_accuracy"] == pytest.approx(0.5)
    assert m["recall@1"] == 1.0 and m["mrr"] == 1.0
    assert m["abstention_recall"] == 0.0 and m["false_abstention"] == pytest.approx(0.5)
    assert m["citation_precision"] == 1.0 and m["citations"] == 1 and m["citation_support_precision"] == 1.0
    assert m["latency_total_p50"] == 1.0 and m["latency_ttft_p50"] is None


def test_same_and_cross_language_facts_content_free_answers_and_named_gaps():
    abstain = "The articles don't contain an answer to this question."
    base = {"lang": "en", "answerable": True, "facts": [["OpenAI"]], "gold_docs": ["d1"], "evidence": []}
    same = scoring.score_item(
        {**base, "id": "en-1", "question": "Where does Bubeck go?"},
        _answer("He joins OpenAI [1].", []),
        [],
        DOCS,
        {},
        abstain,
    )
    cross = scoring.score_item(
        {**base, "id": "en-2", "question": "Where does he go?", "tags": ["cross-lingual"]},
        _answer("He goes somewhere [1].", []),
        [],
        DOCS,
        {},
        abstain,
    )
    restated = scoring.score_item(
        {**base, "id": "en-3", "question": "In which field did it happen?", "answerable": False, "facts": []},
        _answer("It happened in the field [1].", []),
        [],
        DOCS,
        {},
        abstain,
    )
    gap = scoring.score_item(
        {**base, "id": "en-4", "question": "How much did he earn?", "answerable": False, "facts": []},
        _answer("The articles do not say how much he earned.", []),
        [],
        DOCS,
        {},
        abstain,
    )
    half = scoring.score_item(
        {**base, "id": "en-5", "question": "How old is he, and who pays him?", "answerable": False, "facts": []},
        _answer(
            "The articles do not say how old he is. Acme pays him [1].",
            [{"n": 1, "doc_id": "d2", "chunk_id": "d2#0", "lang": "en", "start": 0, "end": 7, "quote": "Nothing"}],
        ),
        [],
        DOCS,
        {},
        abstain,
    )
    assert half["gap_named"] and half["citations"]
    assert scoring.aggregate([gap, half])["gap_with_claim"] == 1  # the clean gap does not count
    assert cross["cross_language"] and not same["cross_language"]
    assert restated["content_free"] and not same["content_free"] and not cross["content_free"]
    assert gap["gap_named"] and not restated["gap_named"]
    m = scoring.aggregate([same, cross, restated, gap])
    assert m["fact_accuracy_same_language"] == 1.0 and m["fact_accuracy_cross_language"] == 0.0
    assert m["content_free"] == 1
    assert m["abstention_recall"] == 0.0 and m["gap_recall"] == 0.5  # the named gap counts, the restatement not


def test_an_answer_adds_content_with_a_new_word_or_a_new_number():
    assert not metrics.adds_content("The number is [1].", "What is the number?")
    assert metrics.adds_content("The number is 42 [1].", "What is the number?")
    assert not metrics.adds_content("It cost 40 million [1].", "Did it cost 40 million?")
    assert metrics.adds_content("Sie wechselte zu Anthropic [1].", "Wohin wechselte sie?")


def test_classify_failure_modes():
    item = {
        "id": "de-900",
        "question": "Wohin geht Bubeck?",
        "lang": "de",
        "answerable": True,
        "facts": [["OpenAI"]],
        "gold_docs": ["d1"],
        "evidence": ["Bubeck joins OpenAI after ten years."],
    }
    abstain = "Die Artikel enthalten keine Antwort auf diese Frage."

    def failures(answer, retrieved=("d1",)):
        return scoring.score_item(item, answer, list(retrieved), DOCS, {}, abstain)["failures"]

    assert failures(_answer(abstain, [], True, sources=["d2"], reason="model_refused"), ["d2"]) == ["wrong retrieval"]
    assert failures(_answer(abstain, [], True, reason="model_refused")) == ["model refused"]
    assert failures(_answer(abstain, [], True, reason="not_relevant")) == ["abstained: relevance below threshold"]
    assert failures(_answer(abstain, [], True, reason="nothing_supported")) == ["verification removed everything"]
    assert failures(_answer("Er geht zu Google.", [])) == ["answer misses a fact", "missing citation"]
    assert failures(_answer("He is going to OpenAI.", [])) == ["missing citation", "wrong language"]


def test_target_met():
    assert scoring.target_met("fact_accuracy", 0.9) is True
    assert scoring.target_met("false_abstention", 0.1) is False
    assert scoring.target_met("mrr", 0.5) is None


# --------------------------------------------------------------------------- gold file and CLI checks


def test_load_gold_reports_the_bad_line(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "en-1", "question": "q", "lang": "en", "answerable": false}\n{oops\n')
    with pytest.raises(gold.GoldError, match=r"gold.jsonl:2: not valid JSON"):
        gold.load_gold(path)
    with pytest.raises(gold.GoldError, match="does not exist"):
        gold.load_gold(tmp_path / "nope.jsonl")


def test_real_gold_splits_load():
    items = gold.load_gold(ROOT / "seeds" / "gold.jsonl")
    dev, test = gold.select(items, "dev"), gold.select(items, "test")
    assert dev and test and len(dev) + len(test) == len(items)
    assert len(gold.select(items, "dev", 3)) == 3


def test_select_by_tags():
    items = [
        {"id": "a", "split": "dev", "tags": ["two-part", "why"]},
        {"id": "b", "split": "dev", "tags": ["two-part"]},
        {"id": "c", "split": "test", "tags": ["two-part", "why"]},
        {"id": "d", "split": "dev"},
    ]
    assert [it["id"] for it in gold.select(items, "dev", tags=("two-part",))] == ["a", "b"]
    assert [it["id"] for it in gold.select(items, "dev", tags=("two-part", "why"))] == ["a"]
    assert [it["id"] for it in gold.select(items, "all", 1, ("why",))] == ["a"]
    assert [it["id"] for it in gold.select(items, "dev")] == ["a", "b", "d"]
    assert gold.known_tags(items) == ["two-part", "why"]


def test_select_by_tags_brings_the_items_a_follow_up_follows():
    items = [
        {"id": "a", "split": "dev", "tags": ["who"]},
        {"id": "b", "split": "dev", "tags": ["who"], "follows": "a"},
        {"id": "c", "split": "dev", "tags": ["two-part"], "follows": "b"},
        {"id": "d", "split": "dev", "tags": ["two-part"]},
        {"id": "e", "split": "test", "tags": ["two-part"], "follows": "d"},
    ]
    assert [it["id"] for it in gold.select(items, "dev", tags=("two-part",))] == ["a", "b", "c", "d"]
    assert [it["id"] for it in gold.select(items, "test", tags=("two-part",))] == ["e"]  # d is not in test


def test_real_gold_has_the_tags_the_help_names():
    tags = gold.known_tags(gold.load_gold(ROOT / "seeds" / "gold.jsonl"))
    assert {"two-part", "cross-lingual", "why"} <= set(tags)


def test_cli_rejects_an_unknown_tag_naming_the_known_ones(capsys):
    from qa.cli import main

    assert main(["eval", "--tag", "two-part,three-part"]) == 2
    err = capsys.readouterr().err
    assert "three-part" in err and "two-part" in err and "cross-lingual" in err


def test_cli_says_when_no_item_carries_all_the_tags(tmp_path, capsys):
    from qa.cli import main

    path = tmp_path / "gold.jsonl"
    rows = [
        {"id": "en-1", "question": "q?", "lang": "en", "answerable": False, "tags": ["why"], "split": "dev"},
        {"id": "en-2", "question": "q?", "lang": "en", "answerable": False, "tags": ["who"], "split": "dev"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main(["eval", "--gold", str(path), "--tag", "why,who"]) == 2
    assert "no items tagged why, who in the 'dev' split" in capsys.readouterr().err


def test_a_tagged_run_does_not_overwrite_the_splits_report():
    from qa.measure.evaluate import default_report_path

    assert default_report_path("dev") == Path("reports/eval-dev.json")
    assert default_report_path("dev", ("two-part", "why")) == Path("reports/eval-dev-two-part-why.json")


def test_report_header_names_the_tags():
    from qa.measure.eval_report import tagged

    assert tagged(["two-part", "why"]) == " tagged two-part, why"
    assert tagged([]) == "" and tagged(None) == ""


def test_cli_refuses_calibration_on_test(capsys):
    from qa.cli import main

    assert main(["eval", "--split", "test", "--calibrate"]) == 2
    assert "dev split only" in capsys.readouterr().err


@pytest.mark.parametrize("subset", [["--tag", "why"], ["--limit", "3"]])
def test_cli_refuses_calibration_on_a_subset(capsys, subset):
    from qa.cli import main

    assert main(["eval", "--split", "dev", "--calibrate", *subset]) == 2
    assert "every dev item" in capsys.readouterr().err


def test_cli_rejects_unknown_config(capsys):
    from qa.cli import main

    assert main(["eval", "--config", "default,fancy"]) == 2
    assert "fancy" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end


@pytest.mark.e2e
def test_eval_smoke_three_dev_items(tmp_path, monkeypatch):
    """`qa eval` on 3 dev items with the real models; the index is a copy in tmp_path."""
    from qa.cli import main

    index_copy = tmp_path / "index"
    if (ROOT / "index").is_dir():
        shutil.copytree(ROOT / "index", index_copy)
    monkeypatch.setenv("QA_INDEX_DIR", str(index_copy))
    monkeypatch.setenv("QA_UPLOADS_DIR", str(tmp_path / "uploads"))
    report_path = tmp_path / "r.json"

    assert main(["eval", "--split", "dev", "--limit", "3", "--json", str(report_path)]) == 0

    report = json.loads(report_path.read_text(encoding="utf-8"))
    run = report["configs"]["default"]
    assert set(scoring.METRIC_KEYS) <= set(run["metrics"])
    assert len(run["items"]) == 3 and run["metrics"]["items"] == 3
    assert all(item["answer"]["text"] for item in run["items"])
    assert all(item["retrieved_docs"] for item in run["items"])
    assert report_path.with_suffix(".png").stat().st_size > 0
    assert report["tags"] == []

    tagged_path = tmp_path / "tagged.json"
    assert main(["eval", "--split", "dev", "--tag", "two-part", "--limit", "1", "--json", str(tagged_path)]) == 0
    tagged = json.loads(tagged_path.read_text(encoding="utf-8"))
    assert tagged["tags"] == ["two-part"]
    assert [("two-part" in item["tags"]) for item in tagged["configs"]["default"]["items"]] == [True]
