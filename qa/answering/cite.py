"""Stage 5, cite: the kept sentences as the answer text, with markers renumbered 1..m in order of
first use, and a Citation for each: the sentence of the cited unit that best matches what the
answer says, quoted from the article (quote == the article's text[start:end])."""

from __future__ import annotations

from dataclasses import dataclass

from qa.answering.verify import Verdict
from qa.text import numbers
from qa.text.lexical import tokenize
from qa.text.markers import attach, render
from qa.text.scripts import joiner
from qa.types import Citation, Document, Passage, Removal


@dataclass(frozen=True)
class Cited:
    """The checked draft as the answer shows it."""

    text: str
    citations: list[Citation]
    notes: list[str]  # what was removed or repaired, as text
    removed: list[Removal]


def assemble(
    verdicts: list[Verdict],
    passages: list[Passage],
    docs: dict[str, Document],
    question: str,
    lang: str,
    checked: bool = True,
) -> Cited:
    """The answer text of the verdicts (without the removed sentences when `checked`), its
    citations renumbered by first use, and notes on what was removed or repaired."""
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    parts, notes, removed = [], [], []
    for v in verdicts:
        if checked and (gone := v.removal()) is not None:
            notes.append(f"removed “{gone.text}”: {gone.detail}")
            removed.append(gone)
            continue
        if v.claim.repaired:
            notes.append(f"number corrected from the passage: “{v.claim.text}”")
        if v.claim.dated:
            notes.append(f"month added from the passage: “{v.claim.text}”")
        shown = []
        for n in v.cite:
            if n not in numbering:
                numbering[n] = len(numbering) + 1
                citations.append(_citation(numbering[n], passages[n - 1], docs, v, question))
            shown.append(numbering[n])
        parts.append(attach(v.claim.text, render(shown)) if shown else v.claim.text)
    return Cited(joiner(lang).join(parts).strip(), citations, notes, removed)


def _citation(n: int, p: Passage, docs: dict[str, Document], v: Verdict, question: str) -> Citation:
    start, end = quote_span(p, v.claim.text, question)
    doc = docs.get(p.chunk.doc_id)
    return Citation(
        n=n,
        doc_id=p.chunk.doc_id,
        chunk_id=p.chunk.id,
        quote=doc.text[start:end] if doc else p.chunk.text,
        lang=p.chunk.lang,
        start=start,
        end=end,
        title=doc.title if doc else "",
        support=round(v.support, 4),
    )


def quote_span(passage: Passage, claim_text: str, question: str) -> tuple[int, int]:
    """The sentence of the passage that best matches the claim (names, numbers, shared words);
    the whole passage when none stands out."""
    sentences = passage.chunk.sentences
    if len(sentences) <= 1:
        return passage.chunk.start, passage.chunk.end
    want = set(tokenize(claim_text)) | set(tokenize(question))
    want_numbers = numbers.extract(claim_text, words=False)
    offset = passage.chunk.start
    best, best_score = None, 0.0
    for s, e in sentences:
        text = passage.chunk.text[s - offset : e - offset]
        score = len(want & set(tokenize(text))) + 3 * sum(
            any(numbers.same(v, w) for w in numbers.extract(text, words=False)) for v in want_numbers
        )
        if score > best_score:
            best, best_score = (s, e), score
    return best if best else (passage.chunk.start, passage.chunk.end)
