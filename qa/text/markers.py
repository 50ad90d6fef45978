"""The citation marker grammar, in one place: reading the markers a model writes, and writing ours.

The model writes markers loosely: "[1]", "[1, 2]", "[1][2]", "【1】", "[Passage 1]", "[Quelle 2]".
The assistant writes exactly one form, "[n]", before a sentence's final punctuation
("… Anthropic [1]."; no space after Chinese or Japanese text: "…Anthropic[1]。").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from qa.text.scripts import CJK_WIDE

# What a model writes: brackets (ASCII or full-width), an optional label, numbers joined by commas.
MARKER = re.compile(
    r"\s*[\[【]\s*(?:passages?|source|quelle|passage|المقطع|段落)?\s*(\d{1,2}(?:\s*[,，、;]\s*\d{1,2})*)\s*[\]】]",
    re.IGNORECASE,
)
# What the assistant writes (and the chat page links): one number in ASCII brackets.
RENDERED = re.compile(r"\[(\d{1,3})\]")
# a sentence's final punctuation, with the closing quotes after it
SENTENCE_END = re.compile(r"[.!?。！？؟]+[\"'”“»」]*$")


def markers(text: str) -> list[str]:
    """The markers of a text, as written."""
    return [m.group(0).strip() for m in MARKER.finditer(text)]


def numbers_of(marker: re.Match) -> list[int]:
    """The passage numbers one marker names ("[1, 2]" → [1, 2])."""
    return [int(n) for n in re.split(r"[,，、;]", marker.group(1))]


def cited(text: str) -> list[int]:
    """Every passage number the markers of a text name, in order, each once."""
    found: list[int] = []
    for m in MARKER.finditer(text):
        found += [n for n in numbers_of(m) if n not in found]
    return found


def remove_markers(text: str) -> str:
    """The text with its markers (and the space before each) taken out."""
    return MARKER.sub("", text)


def strip_markers(text: str) -> str:
    """The text without its markers, trimmed: what a sentence says."""
    return remove_markers(text).strip()


def render(numbers: list[int]) -> str:
    """Our markers for these passage numbers: "[1][2]"."""
    return "".join(f"[{n}]" for n in numbers)


def attach(sentence: str, rendered: str) -> str:
    """Put rendered markers before the sentence's final punctuation: "… Anthropic [1]."."""
    m = SENTENCE_END.search(sentence)
    before, end = (sentence[: m.start()], sentence[m.start() :]) if m else (sentence, "")
    return before.rstrip() + ("" if _ends_wide(before) else " ") + rendered + end


def renumber(text: str, number: Callable[[int], int]) -> str:
    """Our markers renumbered: "[n]" becomes "[number(n)]"."""
    return RENDERED.sub(lambda m: f"[{number(int(m.group(1)))}]", text)


def _ends_wide(text: str) -> bool:
    """Ends in a Chinese or Japanese character or full-width punctuation (no space before a marker)."""
    return bool(text) and bool(re.match(f"[{CJK_WIDE}]", text[-1]))
