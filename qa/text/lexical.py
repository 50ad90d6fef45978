"""Lexical matching: the tokenizer that works for Latin, Arabic and CJK text, and BM25's
parameters. Shared by both stores' BM25 (qa.store.lexical over bm25s; qa.store.postgres in SQL)
and by citation verification (qa.answering.cite), so every part tokenises a text the same way.

- Latin/other scripts: NFKC, lower-case, word tokens; German compounds are left whole.
- Arabic: diacritics and tatweel removed, alef/ya/ta-marbuta forms unified, a leading
  conjunction/article ("و", "ال", "وال", "بال", "لل" …) stripped from longer words.
- Han/Kana/Hangul: overlapping character bigrams (plus single characters for one-character
  runs), the standard segmentation-free approach for CJK retrieval.
Names written in Latin letters inside Chinese or Arabic text ("(Mira Murati)", "OpenAI") become
ordinary word tokens, which is what lets a lexical hit cross languages.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

# U+30FB "・" (the separator in transliterated names: 米拉・穆拉蒂) is punctuation, not a character
_TOKEN = re.compile(
    r"[\u3040-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+|[^\W_]+", re.UNICODE
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_ARABIC_DIACRITICS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال", "و")
_STOP = frozenset(
    (
        "the a an of to in and or is are was were be been for on at by with from that this it as what who "
        "whom why how when where which did does do der die das den dem des ein eine einer eines und oder ist "
        "sind war waren zu im in am an auf von mit für bei als dass wie was wer wo warum hat haben sich er "
        "sie es nicht auch في من على إلى عن أن إن هل ما ماذا لماذا كيف مع هذا هذه التي الذي"
    ).split()
)


def _arabic(word: str) -> str:
    word = _ARABIC_DIACRITICS.sub("", word)
    word = word.translate(str.maketrans("أإآىة", "اااىه"))
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    return word


# Arabic stopwords compared in normalized form ("إلى" is seen as "الى" by the tokenizer)
_STOP = _STOP | {_arabic(w) for w in _STOP if "\u0600" <= w[0] <= "\u06ff"}


def tokenize(text: str) -> list[str]:
    # diacritics are combining marks, not word characters: removed first so they do not split words
    text = _ARABIC_DIACRITICS.sub("", unicodedata.normalize("NFKC", text).lower())
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        if _CJK.match(word):
            tokens += [word[i : i + 2] for i in range(len(word) - 1)] if len(word) > 1 else [word]
        elif "\u0600" <= word[0] <= "\u06ff":
            word = _arabic(word)
            if word not in _STOP:
                tokens.append(word)
        elif word not in _STOP and (len(word) > 1 or word.isdigit()):
            tokens.append(word)
    return tokens


# BM25 parameters (bm25s defaults, spelled out: qa.store.postgres computes the same scores in SQL):
# score = Σ_query tokens idf · tf / (tf + K1 · (1 − B + B · len / avg len)),
# idf = ln(1 + (N − df + 0.5) / (df + 0.5))  (the "lucene" variant); an empty text counts one token.
K1, B = 1.5, 0.75


def doc_tokens(text: str) -> list[str]:
    """The tokens BM25 indexes for a chunk (never empty: bm25s needs a token per document)."""
    return tokenize(text) or ["\u2205"]


# Snowball's English and German stemmers (the Latin-script languages of the answers): they know
# the inflections of short words that the prefix rule below leaves apart ("hire"/"hired": an
# answer "The firm hired seven engineers" to "Which seven engineers did the firm hire?" adds nothing).
# A stemmer object keeps state while it stems, so the web app's threads share it under a lock.
_STEMMERS = tuple(snowballstemmer.stemmer(name) for name in ("english", "german"))
_STEM_LOCK = threading.Lock()


@functools.lru_cache(maxsize=65536)
def _stems(word: str) -> tuple[str, ...]:
    with _STEM_LOCK:
        return tuple(s.stemWord(word) for s in _STEMMERS)


def _same_word(a: str, b: str) -> bool:
    """One word in two inflections ("happened"/"happen", "hired"/"hire", "Ausrichtung"/
    "Ausrichtungen"): equal, or of one English or German stem (words of three letters or more),
    or sharing a prefix of at least five letters that covers all but three letters of the
    shorter one (inflections the stemmers do not know, and words of other languages)."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 3 or _CJK.match(a) or _CJK.match(b):
        return False
    if any(x == y for x, y in zip(_stems(a), _stems(b))):
        return True
    if shorter < 5:
        return False
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    return common >= max(5, shorter - 3)


def new_words(text: str, question: str) -> list[str]:
    """The content words of `text` that the question does not already have, in any inflection
    (function words and citation markers are not words here): what an answer adds."""
    asked = set(tokenize(question))
    return [t for t in tokenize(text) if not t.isdigit() and not any(_same_word(t, q) for q in asked)]
