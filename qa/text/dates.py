"""Months and the years they date, read in any of the answer languages and written in one.

A source that says "im Februar 2024" or "2024 年 2 月" dates the year to a month; an answer that
translates it as "in 2024" has lost the month. These functions find which months a text attaches
to each year, and write a month and year the way the answer's language does ("February 2024",
"Februar 2024", "2024年2月", "فبراير 2024"). The month names are the languages' own.
"""

from __future__ import annotations

import re

_NAMES = {
    "en": "january february march april may june july august september october november december",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "ar": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
}
# Other spellings that name the same month: Austrian Jänner, the Levantine Arabic months.
_ALSO = {
    "jänner": 1,
    "إبريل": 4,
    "كانون الثاني": 1,
    "شباط": 2,
    "آذار": 3,
    "نيسان": 4,
    "أيار": 5,
    "حزيران": 6,
    "تموز": 7,
    "آب": 8,
    "أيلول": 9,
    "تشرين الأول": 10,
    "تشرين الثاني": 11,
    "كانون الأول": 12,
}
MONTH_NUMBER: dict[str, int] = {name: i for names in _NAMES.values() for i, name in enumerate(names.split(), 1)} | _ALSO
# Every month name as one regex alternation, longest first (the Levantine "كانون" and "تشرين"
# alone too: they name a month with a word after them that may be spelt otherwise).
MONTHS = "|".join(sorted(map(re.escape, [*MONTH_NUMBER, "كانون", "تشرين"]), key=len, reverse=True))
_MONTH = "|".join(sorted(map(re.escape, MONTH_NUMBER), key=len, reverse=True))
_YEAR = r"(?:19|20)\d{2}"
# "February 2024", "Februar 2024", "فبراير 2024", "February of 2024", "فبراير من عام 2024"
_MONTH_YEAR = re.compile(
    rf"(?<![^\W\d_])({_MONTH})(?:\s+(?:of|des\s+jahres|من\s+عام|من\s+سنة|عام|سنة))?\s*,?\s*({_YEAR})(?!\d)",
    re.IGNORECASE,
)
# "2024 年 2 月", "2024年2月"
_ZH_YEAR_MONTH = re.compile(rf"(?<!\d)({_YEAR})\s*年\s*(\d{{1,2}})\s*月")
_BARE_YEAR = re.compile(rf"(?<!\d)({_YEAR})(?!\d)")


def months_of_years(text: str) -> dict[int, set[int]]:
    """The months the text attaches to each year it dates ("Februar 2024" → {2024: {2}})."""
    found: dict[int, set[int]] = {}
    for m in _MONTH_YEAR.finditer(text):
        found.setdefault(int(m.group(2)), set()).add(MONTH_NUMBER[m.group(1).lower()])
    for m in _ZH_YEAR_MONTH.finditer(text):
        if 1 <= (month := int(m.group(2))) <= 12:
            found.setdefault(int(m.group(1)), set()).add(month)
    return found


def bare_years(text: str) -> list[tuple[int, int, int]]:
    """(start, end, year) of each year in the text that no month is attached to."""
    dated = [(m.start(), m.end()) for r in (_MONTH_YEAR, _ZH_YEAR_MONTH) for m in r.finditer(text)]
    return [
        (m.start(), m.end(), int(m.group(1)))
        for m in _BARE_YEAR.finditer(text)
        if not any(a <= m.start() < b for a, b in dated)
    ]


def month_and_year(month: int, year: int, lang: str) -> str | None:
    """A month and year as the language writes them; None for a language without month names here."""
    if lang == "zh":
        return f"{year}年{month}月"
    names = _NAMES.get(lang)
    if names is None:
        return None
    name = names.split()[month - 1]
    return f"{name.capitalize() if lang in ('en', 'de') else name} {year}"
