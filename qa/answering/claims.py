"""The draft cut into claims: each sentence the model wrote, with the passages it cites.

Markers are read with the one grammar of qa.text.markers; a number outside the passages given
to the model is dropped (a citation can only point at a passage the model saw); a marker-only
fragment belongs to the sentence before it. A sentence may be cut further into clauses when one
of its words fails a check (qa.answering.verify).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.chunking import split_sentences
from qa.text.lang import long_enough
from qa.text.markers import MARKER, SENTENCE_END, numbers_of, remove_markers


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence without markers
    cited: tuple[int, ...]  # 1-based passage numbers as written by the model (valid ones only)
    repaired: bool = False  # a number was rewritten from the passage's value
    dated: bool = False  # a bare year was given the month its passage dates it to
    marker_as_content: bool = False  # a marker stands where a name or fact belongs
    written: str = ""  # the sentence as the model wrote it (before repairs): what the language checks read

    def __post_init__(self) -> None:
        object.__setattr__(self, "cited", tuple(self.cited))

    @property
    def as_written(self) -> str:
        return self.written or self.text


# A citation marker written where the answer's content belongs: "… targeted [1] and [2].",
# "the number is [1].". Grammar words only: a marker joined to another by a conjunction, or
# right after a word that cannot end a statement.
_CONJOINED = re.compile(
    r"[\]】]\s*(?:and|or|und|oder|sowie|和|与|及|或|و|أو)\s*[\[【]\s*(?:\d|passage|source)", re.IGNORECASE
)
_DANGLING = re.compile(
    r"(?:^|[\s(])(?:is|are|was|were|be|the|a|an|of|to|at|by|from|in|as|with|for|ist|sind|war|waren|"
    r"der|die|das|den|dem|ein|eine|einen|von|zu|bei|nach|für|mit|als|是|为|在|于|到|的|هو|هي|في|إلى|من|مع|ب)\s*$",
    re.IGNORECASE,
)


def marker_as_content(piece: str) -> bool:
    """Whether a marker of this sentence stands where its content belongs."""
    if _CONJOINED.search(piece):
        return True
    for m in MARKER.finditer(piece):
        before, rest = piece[: m.start()].rstrip(), piece[m.end() :].strip()
        ends = not rest or re.match(r"^[.!?。！？؟,，]", rest)
        if ends and (_DANGLING.search(before) or before.endswith((":", "：", "-", "–"))):
            return True
    return False


def parse(answer: str, n_passages: int, lang: str) -> list[Claim]:
    """Split a generated answer into sentences with the passage numbers each one cites."""
    answer = answer.strip()
    if not answer:
        return []
    claims: list[Claim] = []
    for s, e in split_sentences(answer, 0, len(answer), lang):
        piece = answer[s:e]
        cited: list[int] = []
        for m in MARKER.finditer(piece):
            cited += [n for n in numbers_of(m) if 1 <= n <= n_passages and n not in cited]
        text = remove_markers(piece).strip()
        if not re.search(r"\w", text):  # a marker-only fragment belongs to the sentence before
            if claims:
                last = claims[-1]
                claims[-1] = Claim(
                    last.text,
                    last.cited + tuple(n for n in cited if n not in last.cited),
                    marker_as_content=last.marker_as_content,
                )
            continue
        claims.append(Claim(text=text, cited=tuple(cited), marker_as_content=marker_as_content(piece)))
    return claims


# A clause ends at a comma or semicolon followed by a space (a decimal comma has none) or at a
# full-width/Arabic one; a conjunction opening the next clause is dropped with the break.
_CLAUSE_BREAK = re.compile(
    r"(?:[,;]\s+|[，；、]|[،؛]\s*)(?:(?:and|but|und|aber|sowie|而且|并且|而|但|و)\s+)?", re.IGNORECASE
)


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence, each ending like the sentence does ("Wang is 28, and Meta
    hired him." → "Wang is 28.", "Meta hired him."); one item when there is no break."""
    end = SENTENCE_END.search(sentence)
    stop = end.group() if end else ""
    body = sentence[: end.start()] if end else sentence
    parts = [p.strip() for p in _CLAUSE_BREAK.split(body) if p and p.strip()]
    # a list ("Schulman, Brooks and Leike left") is one statement, not clauses
    if len(parts) <= 1 or not all(long_enough(p) for p in parts):
        return [sentence]
    return [p + stop for p in parts]
