"""The gold set (default ``seeds/gold.jsonl``): loading it with a message naming a bad line,
and choosing items from it (a split for `qa eval`, a spread over the languages for `qa bench`).
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.config import PROJECT_ROOT

GOLD_FILE = PROJECT_ROOT / "seeds" / "gold.jsonl"
SPLITS = ("dev", "test", "all")
LANG_ORDER = ("en", "de", "zh", "ar")


class GoldError(ValueError):
    """The gold file cannot be used; the message says why."""


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


def select(items: list[dict], split: str, limit: int | None = None, tags: tuple[str, ...] = ()) -> list[dict]:
    """The items of `split` ("all": every one) that carry every tag of `tags`, the first `limit`.
    A chosen follow-up brings the items it follows (in gold order, untagged or not), so it is
    asked with the same history as in the whole split."""
    in_split = [it for it in items if split == "all" or it.get("split") == split]
    chosen = [it for it in in_split if set(tags) <= set(it.get("tags") or ())]
    if tags:
        by_id = {it["id"]: it for it in in_split}
        wanted = {it["id"] for it in chosen}
        for it in chosen:
            prev = it.get("follows")
            while prev in by_id and prev not in wanted:
                wanted.add(prev)
                prev = by_id[prev].get("follows")
        chosen = [it for it in in_split if it["id"] in wanted]
    return chosen[:limit] if limit else chosen


def known_tags(items: list[dict]) -> list[str]:
    """Every tag the items carry, sorted."""
    return sorted({t for it in items for t in it.get("tags") or ()})


def _spread(items: list[dict], k: int) -> list[dict]:
    """k items evenly spaced over the list (so dev/test and every tag are sampled)."""
    if k <= 0 or not items:
        return []
    k = min(k, len(items))
    return [items[int((i + 0.5) * len(items) / k)] for i in range(k)]


def select_questions(gold: list[dict], n: int) -> list[dict]:
    """n stand-alone questions (follow-ups need a conversation, so they are left out), spread
    evenly over the languages (en, de, zh, ar; the first languages get the remainder), with
    answerable and unanswerable ones in the gold set's proportion per language; deterministic."""
    pool = sorted((q for q in gold if not q.get("follows")), key=lambda q: q["id"])
    if n < 1:
        raise ValueError("--questions must be at least 1")
    if n > len(pool):
        raise ValueError(f"--questions can be at most {len(pool)} (the stand-alone gold questions)")
    langs = [lang for lang in LANG_ORDER if any(q["lang"] == lang for q in pool)]
    langs += sorted({q["lang"] for q in pool} - set(langs))
    by_lang = {lang: [q for q in pool if q["lang"] == lang] for lang in langs}
    quota = {lang: 0 for lang in langs}
    remaining, i = n, 0
    while remaining:  # round-robin, skipping languages that ran out of questions
        lang = langs[i % len(langs)]
        if quota[lang] < len(by_lang[lang]):
            quota[lang] += 1
            remaining -= 1
        i += 1
    per_lang: dict[str, list[dict]] = {}
    for lang in langs:
        answerable = [q for q in by_lang[lang] if q.get("answerable", True)]
        unanswerable = [q for q in by_lang[lang] if not q.get("answerable", True)]
        k_un = round(quota[lang] * len(unanswerable) / len(by_lang[lang])) if quota[lang] >= 3 else 0
        k_un = min(max(k_un, 0), len(unanswerable))
        k_an = min(quota[lang] - k_un, len(answerable))
        k_un = quota[lang] - k_an
        chosen = _spread(answerable, k_an)
        picked = _spread(unanswerable, k_un)
        # unanswerable questions placed evenly between the answerable ones
        for j, q in enumerate(picked):
            chosen.insert(min(len(chosen), (j + 1) * (len(chosen) + len(picked)) // (len(picked) + 1)), q)
        per_lang[lang] = chosen
    order: list[dict] = []
    for j in range(max(map(len, per_lang.values()))):
        order += [per_lang[lang][j] for lang in langs if j < len(per_lang[lang])]
    return order
