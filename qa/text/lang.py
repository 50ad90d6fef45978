"""Language identification for questions and documents.

Scripts decide first (Han → zh, Arabic → ar, Kana → ja, Hangul → ko, Cyrillic → ru), because a
Chinese question full of Latin names ("OpenAI 的 CEO 是谁？") is still Chinese. Among Latin-script
languages, lingua decides: it is the most accurate maintained detector for short text, and it
ships its models inside the wheel (no download).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from anyascii import anyascii
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from qa.text.scripts import HAN, KANA

NAMES = {
    "en": "English",
    "de": "German",
    "zh": "Chinese",
    "ar": "Arabic",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "ru": "Russian",
    "ja": "Japanese",
    "ko": "Korean",
    "tr": "Turkish",
    "pl": "Polish",
}
_LATIN = ("en", "de", "fr", "es", "it", "pt", "nl", "tr", "pl")
_PRIOR = {"en": 2.0, "de": 2.0}
# Function words found in only one of English and German. lingua is unreliable on a three-word
# question ("Was plant Murati?" scores en > de); when it picks one of the two, these cues decide.
_CUES = {
    "de": frozenset(
        (
            "ist sind und nicht der dem ein eine einen einem wer wie warum wieso weshalb wohin woher welche "
            "welcher welches wann hat haben hatte wurde wird für über auf bei nach sich auch noch viel viele"
        ).split()
    ),
    "en": frozenset(
        ("the what who whom why how which where when did does do is are and of to has have had been were").split()
    ),
}
_EN_AFTER_WAS = frozenset(("the a an he she it they there this that his her its their any anyone one").split())


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        o = ord(ch)
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            key = "han"
        elif 0x3040 <= o <= 0x30FF:
            key = "kana"
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
            key = "hangul"
        elif 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFEFF:
            key = "arabic"
        elif 0x0400 <= o <= 0x04FF:
            key = "cyrillic"
        elif "LATIN" in unicodedata.name(ch, ""):
            key = "latin"
        else:
            key = "other"
        counts[key] = counts.get(key, 0) + 1
    return counts


@functools.lru_cache(maxsize=1)
def _lingua():
    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in _LATIN]
    # all n-gram models up front (≈270 MB, ~1–3 s once): loaded lazily, a later short question
    # paid 1–2 s in the middle of an answer
    return LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models().build()


_SCRIPT_OF = {"zh": "han", "ja": "kana", "ko": "hangul", "ar": "arabic", "ru": "cyrillic"}


def script_of(lang: str) -> str:
    """The script a language is written in (Latin unless listed)."""
    return _SCRIPT_OF.get(lang, "latin")


def distance(source: str, reader: str) -> int:
    """How far a text in language `source` is from a reader of `reader`: 0 the same language,
    1 the same script (names are spelled alike: a German sentence for an English reader), 2
    another script (names must be transliterated, which the 1.5B generator garbles)."""
    if source == reader:
        return 0
    return 1 if script_of(source) == script_of(reader) else 2


def long_enough(part: str) -> bool:
    """Long enough to state or ask something on its own: three words, or four characters when
    it is written in Chinese or Japanese (no spaces between words). Decides where a sentence
    may be cut into clauses (qa.cite) and a question into parts (qa.question)."""
    if re.search(f"[{KANA}{HAN}]", part):
        return len(re.sub(r"\W", "", part)) >= 4
    return len(re.findall(r"\w+", part)) >= 3


def preload() -> None:
    """Load the detector's language models now (they are loaded once per process)."""
    _lingua()


def detect(text: str, default: str = "en") -> str:
    counts = _script_counts(text)
    letters = sum(counts.values())
    if not letters:
        return default
    if counts.get("kana", 0):
        return "ja"
    for script, code in (("hangul", "ko"), ("han", "zh"), ("arabic", "ar"), ("cyrillic", "ru")):
        # CJK characters carry a word each; one fifth of the letters is plenty to decide.
        if counts.get(script, 0) >= max(1, letters * (0.15 if script == "han" else 0.3)):
            return code
    # Short questions are ambiguous between Latin-script languages ("Was plant Murati?"); lean
    # towards the languages the product is built for when lingua's confidence is close.
    scores = {
        c.language.iso_code_639_1.name.lower(): c.value * _PRIOR.get(c.language.iso_code_639_1.name.lower(), 1.0)
        for c in _lingua().compute_language_confidence_values(text)
    }
    best = max(scores, key=scores.get) if scores and max(scores.values()) > 0 else default
    return (_en_de_cue(text) or best) if best in ("en", "de") else best


def _en_de_cue(text: str) -> str | None:
    """ "en" or "de" when a short text has function words of only that language, else None."""
    words = re.findall(r"[^\W\d_]+", text)
    if len(words) > 20:  # longer text: lingua is reliable
        return None
    lower = [w.lower() for w in words]
    hits = {code: sum(w in cue for w in lower) for code, cue in _CUES.items()}
    # German "Was" opens a question followed by its verb, English "Was" by its subject
    if len(words) >= 2 and lower[0] == "was" and words[1].islower() and lower[1] not in _EN_AFTER_WAS:
        hits["de"] += 1
    if bool(hits["de"]) != bool(hits["en"]):
        return "de" if hits["de"] else "en"
    return None


def name(code: str) -> str:
    return NAMES.get(code, code)


_WORDS_RE = re.compile(r"[^\W\d_]+")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_GERMAN_LETTERS = re.compile(r"[äöüß]", re.IGNORECASE)


# lingua's confidence that a single word is German (English): common words score 0.9–1.0
# ("unzufrieden" 0.99, "Forschung" 0.93, "released" 0.95 English); names stay well below, their
# letters fit several languages ("Schulman" 0.27, "Microsoft" 0.49, "Anthropic" 0.50 English).
WORD_CONFIDENCE = 0.85


def _word_of(word: str, other: str) -> bool:
    """A word of at least five letters that lingua reads as `other` with high confidence. In a
    German answer only lower-case words count: German capitalises nouns, English names too."""
    if len(word) < 5 or (other == "en" and not word.islower()):
        return False
    scores = {
        c.language.iso_code_639_1.name.lower(): c.value for c in _lingua().compute_language_confidence_values(word)
    }
    return scores.get(other, 0.0) >= WORD_CONFIDENCE


def foreign_words(text: str, lang: str, allowed: str = "") -> list[str]:
    """Words of another language inside a sentence written in `lang` ("the leitende Direktor
    der …" in English, "alignment" in a Chinese answer); names aside. Words of `allowed` (the
    question) never count. Rules, per answer language:
    - en: German function words, words spelt with ä/ö/ü/ß, words lingua reads as German with
      high confidence, and words in another script;
    - de: English function words, lower-case words lingua reads as English with high
      confidence, and words in another script;
    - zh, ar (and other non-Latin scripts): Latin-script words that are not written like a
      name (all lower case, or glued to the answer's script);
    names are capitalised and carry neither, so they pass."""
    keep = {w.lower() for w in _WORDS_RE.findall(allowed)}
    found: list[str] = []
    if lang in ("en", "de"):
        other = "de" if lang == "en" else "en"
        for word in _WORDS_RE.findall(text):
            low = word.lower()
            if low in keep or low in _CUES[lang]:
                continue
            other_script = any(ch.isalpha() and not _LATIN_WORD.match(ch) for ch in word)
            if (
                other_script
                or (word.islower() and low in _CUES[other])
                or (lang == "en" and _GERMAN_LETTERS.search(word))
                or _word_of(word, other)
            ):
                found.append(word)
    elif lang in ("zh", "ar", "ja", "ko", "ru"):
        for m in _LATIN_WORD.finditer(text):
            word = m.group()
            glued = (
                m.start() > 0 and text[m.start() - 1].isalpha() and not _LATIN_WORD.match(text[m.start() - 1])
            ) or (m.end() < len(text) and text[m.end()].isalpha() and not _LATIN_WORD.match(text[m.end()]))
            if word.lower() in keep or len(word) < 3:
                continue
            if (word.islower() and len(word) >= 4) or (glued and word[0].islower()):
                found.append(word)
    return found


# The consonant skeleton of a name, for names written in another script: anyascii romanises
# (布贝克 → BuBeiKe, بوبيك → bwbyk), then sounds that scripts render alike fold together
# (b/p, d/t, g/k/c/q, r/l, v/f, z/s; Chinese writes l and r with one syllable) and vowels,
# glides and h go (Arabic writes few vowels). Bubeck, 布贝克 and بوبيك all become "pk".
_FOLD = (
    ("sch", "sh"),
    ("ck", "k"),
    ("ph", "f"),
    ("c", "k"),
    ("q", "k"),
    ("v", "f"),
    ("z", "s"),
    ("x", "ks"),
    ("d", "t"),
    ("b", "p"),
    ("g", "k"),
    ("r", "l"),
    ("j", "y"),
)


def skeleton(word: str) -> str:
    s = re.sub(r"[^a-z]", "", anyascii(word).lower())
    for a, b in _FOLD:
        s = s.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouywh]", "", s))


def sounds_alike(name: str, word: str) -> bool:
    """A Latin-script name and a word of another script with the same consonant skeleton (at
    least two consonants): Schulman / 舒尔曼 / شولمان. Same-script pairs never match here."""
    if _LATIN_WORD.fullmatch(word) or not _LATIN_WORD.fullmatch(name):
        return False
    key = skeleton(name)
    return len(key) >= 2 and key == skeleton(word)
