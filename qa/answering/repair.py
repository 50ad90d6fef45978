"""Repairs made to a draft sentence from the passages' own values (switched off with the checks,
or by name in CheckSettings.off). Before it is checked ("repair_numbers"):

- a number whose digits match a passage's but whose magnitude is wrong (66亿 written as
  "66 billion" instead of 6.6 billion) is rewritten from the passage's value;
- a right number in another language's scale words ("32 Milliarden" in English) is written the
  answer's way;
- a year the model adds to a month the passages give without one ("in May 2021" for "5 月")
  goes, the month stays.

After it passed the checks ("repair_dates"): asked when (qa.text.asked), a year that the passage
it cites dates to one month ("2024 年 2 月") but the answer writes bare ("in 2024") gets its
month back, in the answer's language. The small model loses the month when it translates a date;
copying it from the passage needs no translation. On dev it dated two answers, both to the
month the gold answer gives.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.answering.claims import Claim
from qa.text import dates, numbers
from qa.text.dates import MONTHS, is_year
from qa.text.names import NAMED_NUMBER

# "美元" after a number in a German answer, "Dollar" in a Chinese one: written the answer's way.
_CURRENCY = re.compile(r"\s*(美元|US-Dollar\b|dollars\b|dollar\b|USD\b|دولار أمريكي|دولار)", re.IGNORECASE)
_CURRENCY_WORD = {"en": " dollars", "de": " Dollar", "zh": "美元", "ar": " دولار"}

# Month names of the languages answered in; Chinese writes the year before the month ("2021年5月").
_MONTH_BEFORE = re.compile(rf"(?:{MONTHS})[ ,]*$", re.IGNORECASE)
_MONTH_AFTER_ZH = re.compile(r"^\s*年\s*(?=\d{1,2}\s*月)")


def repair_numbers(claim: Claim, stated: list[list[float]], question_numbers: list[float], lang: str) -> Claim:
    """The claim with its numbers repaired from the passages' values (`stated`: per passage)."""
    every = [v for vs in stated for v in vs]
    text = without_invented_years(claim.text, every + question_numbers, lang)
    text = _magnitudes_from_passages(text, every, question_numbers, lang)
    text = _in_own_scale_words(text, lang)
    if text == claim.text:
        return claim
    # as the sentence was written: the language checks read that, not the repair
    return replace(claim, text=text, repaired=True, written=claim.text)


def _magnitudes_from_passages(text: str, every: list[float], question_numbers: list[float], lang: str) -> str:
    named = [(m.start(), m.end()) for m in NAMED_NUMBER.finditer(text)]
    for start, end, value in reversed(numbers.spans(text, lang)):
        if any(a <= start < b for a, b in named):
            continue
        if any(numbers.same(value, v) for v in every + question_numbers):
            continue
        candidates = {round(v, 6) for v in every if numbers.significant(v) == numbers.significant(value) and v >= 1000}
        if len(candidates) == 1 and value >= 1000:
            text = text[:start] + numbers.render(candidates.pop(), lang) + text[end:]
    return text


def _in_own_scale_words(text: str, lang: str) -> str:
    for start, end, value in reversed(numbers.foreign_scales(text, lang)):
        rest = text[end:]
        currency = _CURRENCY.match(rest)
        if currency and lang in _CURRENCY_WORD:
            rest = _CURRENCY_WORD[lang] + rest[currency.end() :]
        text = text[:start] + numbers.render(value, lang) + rest
    return text


def without_invented_years(text: str, known: list[float], lang: str) -> str:
    """The text without years that no passage states when they only date a month."""
    for start, end, value in reversed(numbers.spans(text, lang)):
        if not is_year(value) or any(numbers.same(value, v) for v in known):
            continue
        before, after = text[:start], text[end:]
        if _MONTH_BEFORE.search(before):
            text = before.rstrip(" ,") + after
        elif zh := _MONTH_AFTER_ZH.match(after):
            text = before + after[zh.end() :]
    return text


def complete_dates(claim: Claim, cited: list[str], lang: str) -> Claim:
    """The claim with each bare year that every cited passage dates to one and the same month
    written with that month, where a month can stand before it (dates.month_can_precede). A year
    the passages also state without a month or with two months, or one the claim dates itself,
    is left as it is: which month the answer means is not known."""
    months: dict[int, set[int]] = {}
    bare: set[int] = set()
    for text in cited:
        for year, found in dates.months_of_years(text).items():
            months.setdefault(year, set()).update(found)
        bare.update(year for _, _, year in dates.bare_years(text))
    text = claim.text
    own = dates.months_of_years(text)
    for start, end, year in reversed(dates.bare_years(text)):
        if year in bare or year in own or len(months.get(year, ())) != 1:
            continue
        written = dates.month_and_year(next(iter(months[year])), year, lang)
        if written is None or not dates.month_can_precede(text, start, end, lang):
            continue
        text = _dated(text, start, end, written, lang)
    if text == claim.text:
        return claim
    return replace(claim, text=text, dated=True, written=claim.as_written)


# "عام 2024" becomes "فبراير 2024", "2024年" becomes "2024年2月"; German "in 2024" becomes
# "im Februar 2024"; a year opening a sentence gets the language's "in".
_YEAR_WORD_BEFORE = re.compile(r"(?:(?<=\s)|^)(?:عام|العام|سنة)\s*$")
_YEAR_WORD_AFTER_ZH = re.compile(r"^\s*年")
_OPENING = {"en": "In ", "de": "Im ", "ar": "في "}


def _dated(text: str, start: int, end: int, written: str, lang: str) -> str:
    """`text` with the year at text[start:end] replaced by `written` (a month and year)."""
    before, after = text[:start], text[end:]
    if lang == "zh":
        word = _YEAR_WORD_AFTER_ZH.match(after)
        return before + written + (after[word.end() :] if word else after)
    if word := _YEAR_WORD_BEFORE.search(before):
        before = before[: word.start()]
    if lang == "de" and re.search(r"(?:^|\s)[Ii]n $", before):
        before = before[:-3] + ("Im " if before[-3] == "I" else "im ")
    elif not before.strip() and re.search(r"[^\W\d_]", after) and lang in _OPENING:
        before = _OPENING[lang]
    return before + written + after
