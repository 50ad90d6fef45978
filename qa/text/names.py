"""Names in a sentence: the Latin-script words that name a person, company or product.

Used where a sentence's names must come from the evidence (qa.answering.checks.names) and where
a number is paired with the name it belongs to (qa.answering.checks.numbers).
"""

from __future__ import annotations

import re

from qa.text import dates, numbers
from qa.text.scripts import LATIN

# Latin letters only, bounded by anything that is not one: in Chinese text there is no word
# boundary between "了" and "GPT-3.5", and \w would run a name on into the Han characters.
_NAME = re.compile(rf"(?<![{LATIN}0-9])[A-Z][{LATIN}0-9'’-]*[{LATIN}0-9](?![{LATIN}0-9])")
# Digits that are part of a name ("GPT-4o", "Phi-3.5", "Llama3") are checked with the name, not
# as quantities.
NAMED_NUMBER = re.compile(rf"(?<![{LATIN}0-9])[A-Za-z]+-?\d[{LATIN}0-9.]*(?![{LATIN}0-9])")

# Capitalised words that are not names: months (qa.text.dates, Latin-script ones written out),
# currencies, units (en and de).
_NOT_NAMES = frozenset(
    [m.lower() for m in dates.MONTH_NUMBER if re.fullmatch(f"[{LATIN}]+", m)]
    + "dollar dollars us-dollar usd euro yuan rmb milliarden millionen prozent ki ai".split()
)
_GERMAN_NOUN = re.compile(r"(ung|ungen|heit|keit|schaft|tion|tät|nis|en|ern|chen)$")


def names(sentence: str, lang: str = "en") -> list[str]:
    """Latin-script names in a sentence. German capitalises every noun, so there a name must
    look like one: a digit or an inner capital ("GPT-4o", "OpenAI") or a run of capitalised
    words ("Andrej Karpathy")."""
    found = []
    matches = list(_NAME.finditer(sentence))
    for i, m in enumerate(matches):
        word = _word(m)
        initial = not sentence[: m.start()].strip()
        if word.lower() in numbers.WORDS or word.lower() in _NOT_NAMES or len(word) < 3:
            continue
        # The first word is capitalised anyway: a name only when it looks like one ("OpenAI")
        # or starts a run of capitalised words ("Mira Murati").
        if initial and not (re.search(r"\d|.[A-Z]", word) or _in_run(sentence, matches, i)):
            continue
        if lang == "de" and not (
            re.search(r"\d|.[A-Z]", word) or (_in_run(sentence, matches, i) and not _GERMAN_NOUN.search(word))
        ):
            continue
        found.append(word)
    return found


def _word(match: re.Match) -> str:
    """The name a match writes: "OpenAI's" names OpenAI."""
    return re.sub(r"['’]s$", "", match.group())


def runs(sentence: str, words: list[str]) -> list[str]:
    """The phrases of two or more of `words` standing next to each other in the sentence, one
    space apart ("Vice President", "Security Policy"): a title or a term written capitalised,
    which means what it says only as a whole."""
    wanted = {w.lower() for w in words}
    phrases: list[list[str]] = []
    end = -2
    for m in _NAME.finditer(sentence):
        word = _word(m)
        if word.lower() not in wanted:
            end = -2
            continue
        if sentence[end : m.start()] == " " and phrases:
            phrases[-1].append(word)
        else:
            phrases.append([word])
        end = m.end()
    return [" ".join(p) for p in phrases if len(p) > 1]


def _in_run(sentence: str, matches: list, i: int) -> bool:
    """Whether match i is next to another capitalised word, separated by a single space."""
    left = i > 0 and sentence[matches[i - 1].end() : matches[i].start()] == " "
    right = i + 1 < len(matches) and sentence[matches[i].end() : matches[i + 1].start()] == " "
    return bool(left or right)


def only_names(sentence: str, haystack: str) -> bool:
    """A sentence that is nothing but a name of the passages or the question ("Alexandr Wang."
    answering "是谁？"): right in any script."""
    words = re.findall(r"\w+", sentence)
    return 0 < len(words) <= 4 and all(w.lower() in haystack for w in words) and not any(w.isdigit() for w in words)
