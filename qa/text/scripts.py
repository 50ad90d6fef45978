"""The writing systems the assistant reads and answers in, as Unicode ranges (for regular
expression character classes), in one place."""

from __future__ import annotations

import re

HAN = "\u4e00-\u9fff"  # CJK unified ideographs
HAN_EXTENDED = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # with extension A and the compatibility block
KANA = "\u3040-\u30ff"  # hiragana and katakana (with the katakana middle dot ・)
KANA_LETTERS = "\u3040-\u30fa\u30fc-\u30ff"  # without ・ (U+30FB), which separates a transliterated name's parts
HANGUL = "\uac00-\ud7af"
ARABIC = "\u0600-\u06ff"
CYRILLIC = "\u0400-\u04ff"
LATIN = "A-Za-z\u00c0-\u024f"  # basic Latin letters and their accented forms
CJK_WIDE = "\u3000-\u9fff"  # CJK punctuation, kana and ideographs: text written without spaces

# The script an answer in a language must be written in (names may stay in Latin letters).
_SCRIPT = {"zh": HAN, "ja": KANA + HAN, "ko": HANGUL, "ar": ARABIC, "ru": CYRILLIC}
_SCRIPT_RE = {lang: re.compile(f"[{ranges}]") for lang, ranges in _SCRIPT.items()}


def has_own_script(lang: str) -> bool:
    """Whether the language is written in a script of its own (not Latin letters)."""
    return lang in _SCRIPT


def in_script_of(text: str, lang: str) -> bool:
    """Whether the text has at least one letter of the language's own script (True for Latin-script languages)."""
    pattern = _SCRIPT_RE.get(lang)
    return pattern is None or bool(pattern.search(text))


def written_without_spaces(lang: str) -> bool:
    """Chinese and Japanese put no spaces between words or sentences."""
    return lang in ("zh", "ja")


def joiner(lang: str) -> str:
    """What goes between two sentences of an answer in this language."""
    return "" if written_without_spaces(lang) else " "
