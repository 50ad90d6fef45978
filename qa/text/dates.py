"""Months and the years they date, read in any of the answer languages and written in one.

A source that says "im Februar 2024" or "2024 年 2 月" dates the year to a month; an answer that
translates it as "in 2024" has lost the month. These functions find which months a text attaches
to each year, which years an answer writes bare in a place where a month can stand ("in 2024",
"seit 2024", "2024年离开", a year alone), and write a month and year the way the answer's
language does ("February 2024", "Februar 2024", "2024年2月", "فبراير 2024"). The month names
are the languages' own.
"""

from __future__ import annotations

import re

_NAMES = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "ar": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
}
# Other spellings that name the same month: Austrian Jänner, English abbreviations, Arabic
# spellings without hamza, the Levantine Arabic months.
_ALSO = {
    "Jänner": 1,
    "Jan.": 1,
    "Feb.": 2,
    "Mar.": 3,
    "Apr.": 4,
    "Jun.": 6,
    "Jul.": 7,
    "Aug.": 8,
    "Sep.": 9,
    "Sept.": 9,
    "Oct.": 10,
    "Okt.": 10,
    "Nov.": 11,
    "Dec.": 12,
    "Dez.": 12,
    "إبريل": 4,
    "ابريل": 4,
    "اغسطس": 8,
    "اكتوبر": 10,
    "يوليه": 7,
    "يونيه": 6,
    "كانون الثاني": 1,
    "شباط": 2,
    "آذار": 3,
    "اذار": 3,
    "نيسان": 4,
    "أيار": 5,
    "ايار": 5,
    "حزيران": 6,
    "تموز": 7,
    "آب": 8,
    "أيلول": 9,
    "ايلول": 9,
    "تشرين الأول": 10,
    "تشرين الاول": 10,
    "تشرين الثاني": 11,
    "كانون الأول": 12,
    "كانون الاول": 12,
}
MONTH_NUMBER: dict[str, int] = {name: i for names in _NAMES.values() for i, name in enumerate(names.split(), 1)} | _ALSO


def _alternation(words) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


# Every month name as one regex alternation (for case-insensitive use beside other time words;
# the Levantine "كانون" and "تشرين" alone too).
MONTHS = _alternation([*MONTH_NUMBER, "كانون", "تشرين"])
# A year as the articles write one, 1900-2099 (also read by qa.text.asked)
YEAR = r"(?:19|20)\d{2}"


def is_year(value: float) -> bool:
    """Whether a number read from a text (qa.text.numbers) can be a year: a whole number 1900-2100."""
    return 1900 <= value <= 2100 and value == int(value)


# A month dating a year, case-sensitive (the modal "may" is no month): "February 2024",
# "Februar 2024", "فبراير 2024", "بفبراير 2024", "February of 2024", "February 3, 2024",
# "فبراير من العام 2024".
_MONTH_YEAR = re.compile(
    rf"(?<![^\W\d_])(?:[وفبل](?=[^\W\d_]))?({_alternation(MONTH_NUMBER)})(?![^\W\d_])"
    rf"(?:\s+\d{{1,2}}(?:st|nd|rd|th)?,)?"
    rf"(?:\s+(?:of|des\s+Jahres|من\s+عام|من\s+العام|من\s+سنة|عام|سنة))?\s*({YEAR})(?!\d)"
)
# "2024 年 2 月", "2024年2月"
_ZH_YEAR_MONTH = re.compile(rf"(?<!\d)({YEAR})\s*年\s*(\d{{1,2}})\s*月")
# "2024-02-03", "03.02.2024"
_NUMERIC_DATE = re.compile(rf"(?<!\d)(?:({YEAR})-(\d{{1,2}})-(\d{{1,2}})|(?:\d{{1,2}})\.(\d{{1,2}})\.({YEAR}))(?!\d)")
_BARE_YEAR = re.compile(rf"(?<![\d.,/-])({YEAR})(?!\d)")
# Where a bare year can take a month before it (the word before it, lower case; Arabic may write
# و or ف onto it): "in 2024", "seit 2024", "في عام 2024". Not "before/after/by/vor/nach": a month
# there moves the date ("before 2024" is not "before February 2024").
_BEFORE_MONTH = {
    "en": ("in", "since", "from"),
    "de": ("in", "im", "seit", "ab"),
    "ar": ("في", "فى", "منذ"),
}
# A year followed by a range, a date or a decimal ("2023-2024", "2024/25", "2024.5") is no bare year.
_NOT_AFTER = re.compile(r"^(?:[-–/]|[.,]\d|\d)")
# Chinese: "2024年" is bare when 年 ends it, not "2024年底", "2024年初", "2024年上半年", "2024年二月".
_ZH_AFTER_YEAR = re.compile(r"^\s*年(?![底初末中内度上下半第前后至到月\d一二三四五六七八九十〇])")


def months_of_years(text: str) -> dict[int, set[int]]:
    """The months the text attaches to each year it dates ("Februar 2024" → {2024: {2}})."""
    found: dict[int, set[int]] = {}
    for m in _MONTH_YEAR.finditer(text):
        found.setdefault(int(m.group(2)), set()).add(MONTH_NUMBER[m.group(1)])
    for m in _ZH_YEAR_MONTH.finditer(text):
        if 1 <= (month := int(m.group(2))) <= 12:
            found.setdefault(int(m.group(1)), set()).add(month)
    for m in _NUMERIC_DATE.finditer(text):
        year, month = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(5)), int(m.group(4)))
        if 1 <= month <= 12:
            found.setdefault(year, set()).add(month)
    return found


def bare_years(text: str) -> list[tuple[int, int, int]]:
    """(start, end, year) of each year in the text that no month dates."""
    dated = [(m.start(), m.end()) for r in (_MONTH_YEAR, _ZH_YEAR_MONTH) for m in r.finditer(text)]
    return [
        (m.start(), m.end(), int(m.group(1)))
        for m in _BARE_YEAR.finditer(text)
        if not any(a <= m.start() < b for a, b in dated)
    ]


def month_can_precede(text: str, start: int, end: int, lang: str) -> bool:
    """Whether a month can be written before the bare year text[start:end] without changing what
    the sentence says: the year stands alone, opens the sentence, or follows "in"/"seit"/"في"
    (and "عام" after one of them); not in a range or a date, and in Chinese not "2024年底"."""
    after = text[end:]
    if lang == "zh":
        return bool(_ZH_AFTER_YEAR.match(after)) or not after.strip(" 。.!?")
    if _NOT_AFTER.match(after) or lang not in _BEFORE_MONTH:
        return False
    words = text[:start].split()
    if lang == "ar" and words and words[-1] in ("عام", "العام", "سنة"):
        words = words[:-1]
    if not words:
        return not text[:start].strip()
    last = words[-1].lower()
    if lang == "ar" and last[:1] in ("و", "ف") and last[1:] in _BEFORE_MONTH["ar"]:
        last = last[1:]
    return last in _BEFORE_MONTH[lang] and text[:start].endswith(" ")


def month_and_year(month: int, year: int, lang: str) -> str | None:
    """A month and year as the language writes them; None for a language without month names here."""
    if lang == "zh":
        return f"{year}年{month}月"
    names = _NAMES.get(lang)
    return f"{names.split()[month - 1]} {year}" if names else None
