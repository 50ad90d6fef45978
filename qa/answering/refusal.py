"""Where the assistant decides to say "the articles don't say", and how it says it.

An answer is refused (Answer.abstained, with a typed Answer.abstain_reason) at one of four
points of qa.answering.pipeline, each decided here:
- NOT_RELEVANT, before generating: nothing in the articles is close to the question (the best
  passage's cosine is below RetrievalSettings.min_relevance, calibrated on the dev split);
- NOT_STATED, before generating: the articles are about the question's people and companies but
  no evidence sentence states what it asks: the model, asked which passage states the answer to
  exactly this question, puts at least CheckSettings.probe_none of its probability on "none"
  (qa.answering.probe; switched off by name: "probe");
- MODEL_REFUSED: the model wrote that the passages do not answer (NOT_FOUND, or nothing);
- NOTHING_SUPPORTED: verification removed every sentence of the draft (qa.answering.verify).
After the last two, the fallback (qa.answering.fallback) may still answer from the single
closest evidence sentence. A two-part question is refused only when every part is (and, asked
whole first, the whole question too); a part the articles do not answer is named in the joined
answer (NOT_ANSWERED).
"""

from __future__ import annotations

import re

from qa.types import Answer, Evidence, Passage, Reason, Removal

ABSTAIN_TEXT = {
    "en": "The articles don't contain an answer to this question.",
    "de": "Die Artikel enthalten keine Antwort auf diese Frage.",
    "zh": "这些文章中没有这个问题的答案。",
    "ar": "لا تتضمن المقالات إجابة عن هذا السؤال.",
    "fr": "Les articles ne contiennent pas de réponse à cette question.",
    "es": "Los artículos no contienen una respuesta a esta pregunta.",
}

# said of one part of a two-part question that the articles do not answer
NOT_ANSWERED = {
    "en": "The articles do not answer: “{}”",
    "de": "Darauf geben die Artikel keine Antwort: „{}“",
    "zh": "文章没有回答：“{}”",
    "ar": "لا تجيب المقالات عن: «{}»",
}

# what a model writes when it finds nothing (an earlier prompt asked for it; models still do)
NOT_FOUND = "NOT_FOUND"

# A sentence that says the sources do not answer ("The articles do not say …", "… is not
# found [1]") is a refusal, not a claim, even with a citation.
_SAYS_NOTHING = re.compile(
    r"\b(?:not (?:found|mentioned|stated|specified|given|provided)|"
    r"(?:does|do|did) not (?:say|mention|state|specify|contain|provide)|"
    r"no (?:information|mention)|nicht (?:erwähnt|genannt|angegeben|bekannt|gefunden)|keine (?:Angaben|Informationen)|"
    r"(?:sagen|erwähnen|nennen|enthalten|geben) (?:die Artikel|der Artikel|die Sätze) (?:nicht|nichts|kein\w*)|"
    r"(?:die|der) (?:Artikel|Texte|Quellen|Passagen) (?:sagen|erwähnen|nennen|enthalten|geben) "
    r"(?:nicht|nichts|kein\w*))\b"
    r"|没有提到|未提及|没有提及|没有说明|未说明|没有信息|不得而知"
    r"|لم (?:يذكر|تذكر|يتم ذكر)|لا (?:يذكر|تذكر)|غير مذكور"
    r"|(?:لا (?:توجد|يوجد|تتوفر|تتضمن)|ليس(?:ت)? هناك) (?:أي )?معلومات",
    re.IGNORECASE,
)


def abstain_text(lang: str) -> str:
    return ABSTAIN_TEXT.get(lang, ABSTAIN_TEXT["en"])


def not_answered_text(part: str, lang: str) -> str:
    return NOT_ANSWERED.get(lang, NOT_ANSWERED["en"]).format(part)


def says_nothing(sentence: str) -> bool:
    """Whether a sentence says that the sources do not answer."""
    return bool(_SAYS_NOTHING.search(sentence))


def names_gap(text: str) -> bool:
    """The text says somewhere that the articles do not give what was asked: a sentence saying
    so, or the joined answer's line naming a part the articles do not answer."""
    heads = [template.split("{}")[0].rstrip("“„«\"' ") for template in NOT_ANSWERED.values()]
    return says_nothing(text) or any(h in text for h in heads)


def is_refusal(draft: str) -> bool:
    """Whether the model's whole draft is a refusal: empty, or NOT_FOUND in any spelling."""
    if not draft.strip() or re.search(rf"\b{NOT_FOUND}\b", draft):
        return True
    # the whole answer is the token in another spelling ("NOT FOUND", "not_found.")
    return re.sub(r"[\W_]+", "_", draft).strip("_").upper() == NOT_FOUND


def may_be_refusal(start: str) -> bool:
    """Whether the first characters of a streamed draft may still turn out to be NOT_FOUND in
    any spelling is_refusal accepts ("NOT FOUND", "not_found"): they are held back until this is
    ruled out, so a refusal is never shown as an answer."""
    folded = re.sub(r"[\W_]+", "_", start).lstrip("_").upper()
    return len(start) < 12 and NOT_FOUND.startswith(folded.rstrip("_"))


def irrelevant(evidence: Evidence, min_relevance: float) -> bool:
    """Nothing in the articles is close to the question: refuse before generating."""
    return evidence.relevance < min_relevance or not evidence.retrieved


def probe_says_none(p_none: float | None, threshold: float) -> str | None:
    """Why the probe refuses: the model's probability that no passage answers reached `threshold`."""
    if p_none is None or p_none < threshold:
        return None
    return f"the model puts {p_none:.2f} on no passage stating the answer (refused from {threshold:.2f})"


def refused(
    question: str,
    lang: str,
    reason: Reason,
    sources: list[Passage],
    notes: list[str],
    removed: list[Removal] | None = None,
) -> Answer:
    """The answer that says the articles do not answer the question."""
    return Answer(
        question, abstain_text(lang), [], sources, True, lang, notes=notes, removed=removed or [], abstain_reason=reason
    )
