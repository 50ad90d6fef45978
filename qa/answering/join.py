"""A question asked in parts (qa.text.question) gets one answer: the parts' texts in order, their
citations renumbered by first use (one source cited by both parts keeps one number), and for a
part the articles do not answer, a sentence saying so. It is refused only when every part is."""

from __future__ import annotations

from dataclasses import replace

from qa.answering.refusal import not_answered_text
from qa.text.markers import SENTENCE_END, renumber, strip_markers
from qa.text.scripts import joiner, written_without_spaces
from qa.types import Answer, Citation


def join_answers(question: str, lang: str, parts: list[str], answers: list[Answer]) -> Answer:
    answered = [a for a in answers if not a.abstained]
    notes = [n for a in answers for n in a.notes]
    removed = [r for a in answers for r in a.removed]
    sources = list({p.chunk.id: p for a in answers for p in a.sources}.values())
    if not answered:
        first = answers[0]
        return Answer(
            question,
            first.text,
            [],
            sources,
            True,
            lang,
            notes=notes,
            removed=removed,
            abstain_reason=first.abstain_reason,
        )
    numbering: dict[tuple, int] = {}
    citations: list[Citation] = []
    texts = []
    for part, a in zip(parts, answers):
        if a.abstained:
            texts.append(not_answered_text(part, lang))
            continue
        local = {}
        for c in a.citations:
            key = (c.chunk_id, c.start, c.end)
            if key not in numbering:
                numbering[key] = len(numbering) + 1
                citations.append(replace(c, n=numbering[key]))
            local[c.n] = numbering[key]
        texts.append(_closed(renumber(a.text, lambda n, local=local: local.get(n, n)), lang))
    return Answer(
        question,
        joiner(lang).join(texts),
        citations,
        sources,
        False,
        lang,
        notes=notes,
        removed=removed,
        from_evidence=any(a.from_evidence for a in answered),
    )


def _closed(text: str, lang: str) -> str:
    """A part's answer ended like a sentence, so the next part does not run on from it ("Anthropic
    [1]" before "The articles do not say …" becomes "Anthropic [1].")."""
    if SENTENCE_END.search(strip_markers(text)):
        return text
    return text.rstrip() + ("。" if written_without_spaces(lang) else ".")
