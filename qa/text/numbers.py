"""Numbers across languages and formats, as values: "66亿" = "6.6 billion" = "6,6 Milliarden" =
"6.6 مليار" = 6.6e9. Used to check that every number an answer states is one its passages state.

Decimal separators: a separator followed by exactly three digits groups thousands ("1,000",
"1.000"); otherwise it is a decimal mark ("14,3", "4.4"). Scale words are read in the text's
language where they are false friends: German "Billion" is 10^12 (English "trillion"),
"Billiarde" 10^15; English "billion" is 10^9. "a billion" / "einer Billion" is one of the scale.
Chinese numerals (三, 十一, 两千) are converted with cn2an, the maintained converter.
"""

from __future__ import annotations

import re

import cn2an

_SCALES = {
    # English
    "thousand": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "trillion": 1e12,
    "mn": 1e6,
    "bn": 1e9,
    # German
    "tausend": 1e3,
    "mio": 1e6,
    "million_de": 1e6,
    "millionen": 1e6,
    "milliarde": 1e9,
    "milliarden": 1e9,
    "mrd": 1e9,
    "billionen": 1e12,
    "billiarde": 1e15,
    "billiarden": 1e15,
    # Arabic
    "ألف": 1e3,
    "آلاف": 1e3,
    "مليون": 1e6,
    "ملايين": 1e6,
    "مليار": 1e9,
    "مليارات": 1e9,
    "بليون": 1e9,
    "تريليون": 1e12,
    # Chinese (after a number)
    "千": 1e3,
    "万": 1e4,
    "百万": 1e6,
    "千万": 1e7,
    "亿": 1e8,
    "万亿": 1e12,
}
_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "twenty": 20,
    "eins": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "elf": 11,
    "zwölf": 12,
    "zwanzig": 20,
    "واحد": 1,
    "اثنان": 2,
    "اثنين": 2,
    "ثلاثة": 3,
    "ثلاث": 3,
    "أربعة": 4,
    "خمسة": 5,
    "ستة": 6,
    "سبعة": 7,
    "سبع": 7,
    "ثمانية": 8,
    "تسعة": 9,
    "عشرة": 10,
    "عشر": 10,
    "أحد عشر": 11,
    "اثني عشر": 12,
}
_ARABIC_INDIC = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬０１２３４５６７８９", "01234567890123456789.,0123456789")
# A number may follow a Han or Arabic letter directly ("获得了66亿", "عام2024"), not a Latin letter,
# digit or separator ("GPT5", the "5" of "1.5").
_NUM = re.compile(
    r"(?<![0-9A-Za-z\u00c0-\u024f_.,])(\d{1,3}(?:[.,]\d{3})+(?![\d])|\d+(?:[.,]\d+)?)\s*"
    r"(万亿|百万|千万|[千万亿]|(?:thousand|tausend|millionen|millions?|milliarden?|billionen|billiarden?|billions?|"
    r"trillion|mn|bn|mio\.?|mrd\.?)(?![A-Za-z\u00c0-\u024f])|آلاف|ألف|ملايين|مليون|مليارات|مليار|بليون|تريليون)?",
    re.IGNORECASE,
)
# A scale word with an article or "one" instead of digits: "a billion", "einer Billion", "مليار".
_ONE_SCALE = re.compile(
    r"(?<![\w.,])(?:(?:a|one|ein|eine|einer|einen|einem)\s+(million|billion|trillion|milliarde|billiarde)"
    r"|(مليار|مليون|تريليون))(?!\w)",
    re.IGNORECASE,
)


def scale_value(word: str, lang: str | None = None) -> float:
    """The value of a scale word in the text's language: German "Billion" = 10^12."""
    word = word.lower().rstrip(".")
    if lang == "de" and word == "billion":
        return 1e12
    return _SCALES.get(word, _SCALES.get(word + "_de", 1.0))


# A Chinese numeral counts only when a unit or classifier follows it: 一 alone is part of many
# words (一直 "always", 一些 "some"), 三位 "three (people)" and 十年 "ten years" are numbers.
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千]+(?:[万亿])?(?=[位名个人家年月日号岁亿万倍次项款成条只种])")
_WORD = re.compile(
    r"\b(" + "|".join(sorted((w for w in _WORDS if " " not in w), key=len, reverse=True)) + r")\b", re.IGNORECASE
)


WORDS = frozenset(_WORDS)


def _parse_digits(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw):
        return float(re.sub(r"[.,]", "", raw))
    return float(raw.replace(",", "."))


def extract(text: str, words: bool = True, lang: str | None = None) -> list[float]:
    """Every numeric value stated in `text` (digits with scale words, Chinese numerals, and,
    when `words`, number words one–twelve in English, German and Arabic, and "a billion").
    `lang` is the text's language, for scale words that are false friends."""
    text = text.translate(_ARABIC_INDIC)
    values: list[float] = []
    for m in _NUM.finditer(text):
        value = _parse_digits(m.group(1))
        if m.group(2):
            value *= scale_value(m.group(2), lang)
        values.append(value)
    for m in _CN_NUM.finditer(text):
        token = m.group()
        if len(token) == 1 and token in "百千万亿":  # a lone scale character is not a number; 十年 is
            continue
        try:
            values.append(float(cn2an.cn2an(token, "smart")))
        except (ValueError, KeyError, IndexError):
            continue
    if words:
        for m in _WORD.finditer(text):
            values.append(float(_WORDS[m.group(1).lower()]))
        for m in _ONE_SCALE.finditer(text):
            if not re.search(r"\d\s*$", text[: m.start()]):  # "6.6 مليار" is read above
                values.append(scale_value(m.group(1) or m.group(2), lang))
    return values


def same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def supported(claimed: list[float], stated: list[float]) -> list[float]:
    """The claimed values that no stated value equals (an empty list means all are supported)."""
    return [c for c in claimed if not any(same(c, s) for s in stated)]


def spans(text: str, lang: str | None = None) -> list[tuple[int, int, float]]:
    """(start, end, value) of each number written with digits (and its scale word) in `text`."""
    out = []
    for m in _NUM.finditer(text.translate(_ARABIC_INDIC)):
        value = _parse_digits(m.group(1))
        if m.group(2):
            value *= scale_value(m.group(2), lang)
        end = m.end() if m.group(2) else m.end(1)
        out.append((m.start(), end, value))
    return out


def significant(value: float) -> str:
    """The significant digits of a value: 6.6e9 → "66", 14.3e9 → "143"."""
    return f"{value:.6g}".split("e")[0].replace(".", "").replace("-", "").strip("0")


_UNITS = {
    "en": ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")),
    "de": ((1e12, "Billionen"), (1e9, "Milliarden"), (1e6, "Millionen")),
    "ar": ((1e12, "تريليون"), (1e9, "مليار"), (1e6, "مليون")),
    "zh": ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")),
}


_SCALE_LANG = {
    **{w: "en" for w in ("thousand", "million", "millions", "billion", "billions", "trillion", "mn", "bn")},
    **{
        w: "de"
        for w in (
            "tausend",
            "mio",
            "millionen",
            "milliarde",
            "milliarden",
            "mrd",
            "billionen",
            "billiarde",
            "billiarden",
        )
    },
    **{w: "ar" for w in ("ألف", "آلاف", "مليون", "ملايين", "مليار", "مليارات", "بليون", "تريليون")},
    **{w: "zh" for w in ("千", "万", "百万", "千万", "亿", "万亿")},
}


def foreign_scales(text: str, lang: str) -> list[tuple[int, int, float]]:
    """Numbers written with another language's scale word ("32 Milliarden" in an English
    answer, "66亿" in a German one): (start, end, value) of each."""
    out = []
    for m in _NUM.finditer(text.translate(_ARABIC_INDIC)):
        scale = (m.group(2) or "").lower().rstrip(".")
        native = lang == "de" and scale == "billion"  # German singular "Billion" (10^12)
        if scale and not native and _SCALE_LANG.get(scale, lang) != lang and lang in _UNITS:
            value = _parse_digits(m.group(1)) * scale_value(scale, lang)
            out.append((m.start(), m.end(), value))
    return out


def render(value: float, lang: str) -> str:
    """A value written the way the language writes it: 6.6e9 → "6.6 billion", "6,6 Milliarden",
    "66亿", "6.6 مليار"."""
    for unit, word in _UNITS.get(lang, _UNITS["en"]):
        if abs(value) >= unit:
            amount = f"{value / unit:.6g}"
            if lang == "de":
                amount = amount.replace(".", ",")
            return f"{amount}{word}" if lang == "zh" else f"{amount} {word}"
    plain = f"{value:,.6g}" if abs(value) >= 10000 else f"{value:g}"  # a year stays 2020
    return plain.replace(",", ".") if lang == "de" else plain
