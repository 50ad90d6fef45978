"""Validation of the gold evaluation set ``seeds/gold.jsonl``.

Stdlib + pytest only; deliberately does not import the ``qa`` package.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
GOLD = SEEDS / "gold.jsonl"

LANGS = {"en", "de", "zh", "ar"}
SPLITS = {"dev", "test"}
TAGS = {
    "cross-lingual",
    "multi-article",
    "number",
    "date",
    "name",
    "follow-up",
    "unanswerable",
    "tempting",
    "why",
    "who",
    "what",
    "when",
    "how-much",
    "list",
    # one question asking two things; "partly-unanswerable": the articles answer only one of them
    # (answerable, with only that part's facts; the ideal answer says the other is not stated)
    "two-part",
    "partly-unanswerable",
}
REQUIRED = {
    "id": str,
    "question": str,
    "lang": str,
    "answerable": bool,
    "facts": list,
    "gold_docs": list,
    "evidence": list,
    "split": str,
    "follows": (str, type(None)),
    "tags": list,
}
ID_RE = re.compile(r"^(en|de|zh|ar)-\d{3}$")
EVIDENCE_MIN, EVIDENCE_MAX = 30, 300
# Articles that are translations of each other count as ONE article for "multi-article".
TRANSLATION_GROUPS = [{"000_39e5384918818fe2", "001_6d5f0e6fb6e96afc"}]
# Page furniture that must never be used as evidence.
BOILERPLATE = ["Русский язык", "Sanskrit日本語", "打赏", "{{data.count}}", "个人中心", "今日签到", "暂无讨论"]


def _script_lang(text):
    """Rough language of a text: ar / zh by script, otherwise de vs en by stopwords."""
    arabic = sum(1 for ch in text if "\u0600" <= ch <= "\u06ff")
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if arabic >= max(cjk, latin):
        return "ar"
    if cjk >= latin / 3:  # one CJK char carries roughly as much text as several Latin letters
        return "zh"
    words = re.findall(r"[a-zäöüß]+", text.lower())
    de = sum(words.count(w) for w in ("der", "die", "und", "das", "ist"))
    en = sum(words.count(w) for w in ("the", "and", "is", "of", "to"))
    return "de" if de >= en else "en"


def _load_items():
    items = []
    with GOLD.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:  # pragma: no cover - reported by test
                raise AssertionError(f"line {lineno}: invalid JSON: {exc}") from exc
            assert isinstance(obj, dict), f"line {lineno}: not a JSON object"
            items.append(obj)
    return items


@pytest.fixture(scope="module")
def items():
    assert GOLD.is_file(), f"missing {GOLD}"
    return _load_items()


@pytest.fixture(scope="module")
def docs():
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    assert texts, "no seed articles found"
    return texts


@pytest.fixture(scope="module")
def doc_langs(docs):
    return {stem: _script_lang(text) for stem, text in docs.items()}


def _article_group(doc_id):
    for group in TRANSLATION_GROUPS:
        if doc_id in group:
            return min(group)
    return doc_id


# --------------------------------------------------------------------------- structure


def test_file_is_utf8_jsonl_without_blank_lines():
    raw = GOLD.read_bytes().decode("utf-8")
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    assert lines, "gold file is empty"
    for i, line in enumerate(lines, 1):
        assert line.strip(), f"blank line {i}"
        assert isinstance(json.loads(line), dict)


def test_required_fields_and_types(items):
    for it in items:
        for field, typ in REQUIRED.items():
            assert field in it, f"{it.get('id')}: missing field {field!r}"
            assert isinstance(it[field], typ), f"{it['id']}: field {field!r} has type {type(it[field]).__name__}"
        extra = set(it) - set(REQUIRED)
        assert not extra, f"{it['id']}: unexpected fields {extra}"
        assert it["question"].strip(), f"{it['id']}: empty question"


def test_ids_unique_and_well_formed(items):
    ids = [it["id"] for it in items]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"
    for it in items:
        assert ID_RE.match(it["id"]), f"bad id {it['id']!r}"
        assert it["id"].split("-")[0] == it["lang"], f"{it['id']}: id prefix does not match lang {it['lang']!r}"


def test_lang_split_and_tags_valid(items):
    for it in items:
        assert it["lang"] in LANGS, f"{it['id']}: bad lang {it['lang']!r}"
        assert it["split"] in SPLITS, f"{it['id']}: bad split {it['split']!r}"
        assert it["tags"], f"{it['id']}: no tags"
        assert all(isinstance(t, str) for t in it["tags"]), it["id"]
        unknown = set(it["tags"]) - TAGS
        assert not unknown, f"{it['id']}: unknown tags {unknown}"
        assert len(set(it["tags"])) == len(it["tags"]), f"{it['id']}: duplicate tags"


def test_question_written_in_its_language(items):
    for it in items:
        q = it["question"]
        has_ar = any("\u0600" <= ch <= "\u06ff" for ch in q)
        has_zh = any("\u4e00" <= ch <= "\u9fff" for ch in q)
        if it["lang"] == "ar":
            assert has_ar, f"{it['id']}: Arabic question without Arabic script"
        elif it["lang"] == "zh":
            assert has_zh, f"{it['id']}: Chinese question without CJK characters"
        else:
            assert not has_ar and not has_zh, f"{it['id']}: {it['lang']} question contains Arabic/CJK script"


# --------------------------------------------------------------------------- answers


def test_answerable_iff_facts_docs_evidence(items):
    for it in items:
        filled = [bool(it["facts"]), bool(it["gold_docs"]), bool(it["evidence"])]
        if it["answerable"]:
            assert all(filled), f"{it['id']}: answerable item needs facts, gold_docs and evidence"
        else:
            assert not any(filled), f"{it['id']}: unanswerable item must have empty facts/gold_docs/evidence"


def test_facts_are_lists_of_variant_strings(items):
    for it in items:
        for fact in it["facts"]:
            assert isinstance(fact, list) and fact, f"{it['id']}: each fact must be a non-empty list"
            for variant in fact:
                assert isinstance(variant, str) and variant.strip(), f"{it['id']}: bad variant {variant!r}"


def test_gold_docs_exist(items, docs):
    for it in items:
        assert len(set(it["gold_docs"])) == len(it["gold_docs"]), f"{it['id']}: duplicate gold_docs"
        for d in it["gold_docs"]:
            assert d in docs, f"{it['id']}: unknown gold doc {d!r}"


def test_evidence_is_exact_substring_of_a_gold_doc(items, docs):
    for it in items:
        for ev in it["evidence"]:
            assert isinstance(ev, str), f"{it['id']}: evidence must be a string"
            assert EVIDENCE_MIN <= len(ev) <= EVIDENCE_MAX, f"{it['id']}: evidence length {len(ev)}: {ev[:40]!r}"
            assert any(ev in docs[d] for d in it["gold_docs"] if d in docs), (
                f"{it['id']}: evidence not found verbatim in gold docs: {ev[:60]!r}"
            )
            for bp in BOILERPLATE:
                assert bp not in ev, f"{it['id']}: evidence quotes page boilerplate {bp!r}"


def test_every_gold_doc_backs_up_the_evidence_set(items, docs):
    """Each gold doc listed must actually mention at least one fact variant."""
    for it in items:
        for d in it["gold_docs"]:
            text = docs[d].casefold()
            assert any(v.casefold() in text for fact in it["facts"] for v in fact), (
                f"{it['id']}: gold doc {d} mentions none of the facts"
            )


def test_facts_grounded_in_evidence(items):
    """Every fact has at least one (source-language) variant inside the evidence."""
    for it in items:
        joined = "\n".join(it["evidence"]).casefold()
        for fact in it["facts"]:
            assert any(v.casefold() in joined for v in fact), (
                f"{it['id']}: fact {fact[:3]} not supported by the evidence"
            )


# --------------------------------------------------------------------------- follow-ups & tags


def test_follows_points_to_earlier_item_in_same_split(items):
    seen = {}
    for it in items:
        target = it["follows"]
        if target is not None:
            assert target != it["id"], f"{it['id']}: follows itself"
            assert target in seen, f"{it['id']}: follows {target!r}, which is not an earlier item"
            assert seen[target]["split"] == it["split"], f"{it['id']}: follow-up in a different split than {target}"
            assert seen[target]["lang"] == it["lang"], f"{it['id']}: follow-up in a different language than {target}"
        seen[it["id"]] = it


def test_tag_consistency(items, doc_langs):
    for it in items:
        tags = set(it["tags"])
        assert ("unanswerable" in tags) == (not it["answerable"]), f"{it['id']}: unanswerable tag mismatch"
        if "tempting" in tags:
            assert "unanswerable" in tags, f"{it['id']}: tempting items must be unanswerable"
        if "partly-unanswerable" in tags:
            assert "two-part" in tags and it["answerable"], (
                f"{it['id']}: partly-unanswerable items are answerable two-part questions"
            )
        assert ("follow-up" in tags) == (it["follows"] is not None), f"{it['id']}: follow-up tag mismatch"
        if it["answerable"]:
            gold_langs = {doc_langs[d] for d in it["gold_docs"]}
            cross = it["lang"] not in gold_langs
            assert ("cross-lingual" in tags) == cross, (
                f"{it['id']}: cross-lingual tag should be {cross} (question {it['lang']}, docs {sorted(gold_langs)})"
            )
        else:
            assert "cross-lingual" not in tags and "multi-article" not in tags, it["id"]
        if "multi-article" in tags:
            groups = {_article_group(d) for d in it["gold_docs"]}
            assert len(groups) >= 2, f"{it['id']}: multi-article needs two different articles"


# --------------------------------------------------------------------------- coverage


def test_counts(items):
    assert len(items) >= 240, f"only {len(items)} items"
    per_lang = Counter(it["lang"] for it in items)
    for lang in LANGS:
        assert per_lang[lang] >= 60, f"only {per_lang[lang]} {lang} items"
    splits = Counter(it["split"] for it in items)
    for split in SPLITS:
        share = splits[split] / len(items)
        assert 0.4 <= share <= 0.6, f"split {split} has share {share:.2f}"
    for lang in LANGS:
        dev = sum(1 for it in items if it["lang"] == lang and it["split"] == "dev")
        assert 0.4 <= dev / per_lang[lang] <= 0.6, f"{lang}: {dev} of {per_lang[lang]} items in dev"


def _share(items, keep):
    chosen = [it for it in items if keep(it)]
    return sum(1 for it in chosen if not it["answerable"]) / len(chosen)


def test_at_least_30_percent_unanswerable_everywhere(items):
    """Overall, in each language and in each split at least 30 % of the questions must be refused;
    most of those are tempting (the people and companies are in the articles, the fact is not)."""
    assert _share(items, lambda it: True) >= 0.3
    for lang in LANGS:
        share = _share(items, lambda it, lang=lang: it["lang"] == lang)
        assert share >= 0.3, f"{lang}: only {share:.0%} unanswerable"
    for split in SPLITS:
        share = _share(items, lambda it, split=split: it["split"] == split)
        assert share >= 0.3, f"{split}: only {share:.0%} unanswerable"
    unanswerable = [it for it in items if not it["answerable"]]
    tempting = sum(1 for it in unanswerable if "tempting" in it["tags"])
    assert tempting >= len(unanswerable) / 2, f"only {tempting} of {len(unanswerable)} unanswerable items are tempting"


def test_two_part_questions(items):
    two_part = [it for it in items if "two-part" in it["tags"]]
    assert len(two_part) >= 0.2 * len(items), f"only {len(two_part)} two-part items"
    partly = [it for it in two_part if "partly-unanswerable" in it["tags"]]
    assert len(partly) >= 8, f"only {len(partly)} partly-unanswerable items"


def test_splits_share_every_kind(items):
    """Each split gets its fair share of the hard kinds, so dev tuning transfers to test."""
    kinds = {
        "unanswerable": lambda it: not it["answerable"],
        "tempting": lambda it: "tempting" in it["tags"],
        "two-part": lambda it: "two-part" in it["tags"],
        "partly-unanswerable": lambda it: "partly-unanswerable" in it["tags"],
        "cross-lingual": lambda it: "cross-lingual" in it["tags"],
    }
    for kind, keep in kinds.items():
        chosen = [it for it in items if keep(it)]
        dev = sum(1 for it in chosen if it["split"] == "dev")
        assert 0.35 <= dev / len(chosen) <= 0.65, f"{kind}: {dev} of {len(chosen)} in dev"


def test_every_seed_article_is_gold(items, docs):
    used = Counter(d for it in items for d in it["gold_docs"])
    missing = [d for d in docs if used[d] == 0]
    assert not missing, f"seed articles never used as gold: {missing}"


def test_tag_coverage(items):
    tags = Counter(t for it in items for t in it["tags"])
    assert tags["multi-article"] >= 15
    assert tags["follow-up"] >= 12
    assert tags["tempting"] >= 60
    assert sum(1 for it in items if {"number", "date"} & set(it["tags"])) >= 60
    for lang in LANGS:
        assert any(it["lang"] == lang and "cross-lingual" in it["tags"] for it in items), (
            f"no cross-lingual {lang} item"
        )
        assert any(it["lang"] == lang and not it["answerable"] for it in items), f"no unanswerable {lang} item"
