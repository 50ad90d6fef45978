"""Citation parsing and verification: every kept answer sentence is supported by what it cites.

For each sentence of the generated answer:
1. markers are parsed ([1], [1, 2], [1][2], 【1】, [Passage 1]); numbers outside the passages
   given to the model are dropped — a citation can only point at a passage the model saw;
2. numbers: every value the sentence states (66亿 = 6.6 billion = 6,6 Milliarden) must be stated
   by a cited passage; if another given passage states it, the citation is moved there;
3. names: every Latin-script name in the sentence must appear in a given passage or the question;
4. meaning: the sentence embedding must be close enough to a cited passage (cosine ≥ threshold,
   cross-lingual); an uncited or weakly cited sentence is re-cited to the best given passage
   when that one clears the threshold;
5. language: a sentence in another language than the question's is dropped.
Sentences that fail are removed (recorded in `notes`); when nothing supported remains, the
answer abstains. Markers are renumbered 1..m in order of first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from qa.text import numbers
from qa.text.chunking import split_sentences
from qa.text.lang import foreign_words, long_enough, sounds_alike
from qa.text.lexical import tokenize
from qa.types import Answer, Citation, Document, Passage, Reason, Removal

# Cosine between an answer sentence (query embedding) and a passage (document embedding) above
# which the passage is taken to support the sentence. Calibrated on the dev split
# (`qa eval --split dev --calibrate`); see qa/calibration.json.
SUPPORT_THRESHOLD = 0.40

_MARKER = re.compile(
    r"\s*[\[【]\s*(?:passages?|source|quelle|passage|المقطع|段落)?\s*(\d{1,2}(?:\s*[,，、;]\s*\d{1,2})*)\s*[\]】]",
    re.IGNORECASE,
)
# Latin letters only, bounded by anything that is not one: in Chinese text there is no word
# boundary between "了" and "GPT-3.5", and \w would run a name on into the Han characters.
_LATIN = "A-Za-z\u00c0-\u024f"
_NAME = re.compile(rf"(?<![{_LATIN}0-9])[A-Z][{_LATIN}0-9'’-]*[{_LATIN}0-9](?![{_LATIN}0-9])")
# Digits that are part of a name ("GPT-4o", "Phi-3.5", "Llama3") are checked with the name, not
# as quantities.
_NAMED_NUMBER = re.compile(rf"(?<![{_LATIN}0-9])[A-Za-z]+-?\d[{_LATIN}0-9.]*(?![{_LATIN}0-9])")
# Answers in these languages must be written in their script (names may stay in Latin letters).
_SCRIPTS = {
    "zh": re.compile(r"[\u4e00-\u9fff]"), "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7af]"), "ar": re.compile(r"[\u0600-\u06ff]"), "ru": re.compile(r"[\u0400-\u04ff]"),
}

# "美元" after a number in a German answer, "Dollar" in a Chinese one: written the answer's way.
_CURRENCY = re.compile(r"\s*(美元|US-Dollar\b|dollars\b|dollar\b|USD\b|دولار أمريكي|دولار)", re.IGNORECASE)
_CURRENCY_WORD = {"en": " dollars", "de": " Dollar", "zh": "美元", "ar": " دولار"}

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


def markers(text: str) -> list[str]:
    """The citation markers of a text, as written."""
    return [m.group(0).strip() for m in _MARKER.finditer(text)]


def without_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


def abstain_text(lang: str) -> str:
    return ABSTAIN_TEXT.get(lang, ABSTAIN_TEXT["en"])


# A name the answer writes in another script or language than its evidence ("Google" for 谷歌,
# "Assistant" for "Assistenzprofessor", "Schulman" for 舒尔曼) is accepted when it sounds like a
# word of the evidence (same consonant skeleton, qa.lang.sounds_alike) and its query vector is
# at least SOUND_ALIAS_COSINE close to that word's document vector, or, for a translation that
# does not sound alike (谷歌, 微软, Assistenzprofessor), when the vectors are ALIAS_COSINE close.
# Dev gold name variants (20 cross-script pairs): every pair has the same skeleton, cosines
# 0.27–0.62. 95 unrelated names × every article word of another script: 712 skeleton
# collisions, 35 of them at cosine >= 0.25. Translations that do not sound alike: 0.43–0.59; a
# garbled name ("Systayan" for سيباستيان) 0.34, so ALIAS_COSINE went from 0.32 to 0.40.
ALIAS_COSINE = 0.40
SOUND_ALIAS_COSINE = 0.25
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_ALIAS_WORD = re.compile(r"[^\W\d_\u4e00-\u9fff][^\W_\u4e00-\u9fff]+")

# A citation marker written where the answer's content belongs: "… targeted [1] and [2].",
# "the number is [1].". Grammar words only: a marker joined to another by a conjunction, or
# right after a word that cannot end a statement.
_CONJOINED = re.compile(r"[\]】]\s*(?:and|or|und|oder|sowie|和|与|及|或|و|أو)\s*[\[【]\s*(?:\d|passage|source)",
                        re.IGNORECASE)
_DANGLING = re.compile(
    r"(?:^|[\s(])(?:is|are|was|were|be|the|a|an|of|to|at|by|from|in|as|with|for|ist|sind|war|waren|"
    r"der|die|das|den|dem|ein|eine|einen|von|zu|bei|nach|für|mit|als|是|为|在|于|到|的|هو|هي|في|إلى|من|مع|ب)\s*$",
    re.IGNORECASE)


@dataclass
class Claim:
    text: str  # the sentence without markers
    cited: list[int]  # 1-based passage numbers as written by the model (valid ones only)
    repaired: bool = False  # a number was rewritten from the passage's value
    marker_as_content: bool = False  # a marker stands where a name or fact belongs


def _marker_as_content(piece: str) -> bool:
    if _CONJOINED.search(piece):
        return True
    for m in _MARKER.finditer(piece):
        before, rest = piece[: m.start()].rstrip(), piece[m.end():].strip()
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
        for m in _MARKER.finditer(piece):
            for num in re.split(r"[,，、;]", m.group(1)):
                n = int(num)
                if 1 <= n <= n_passages and n not in cited:
                    cited.append(n)
        text = _MARKER.sub("", piece).strip()
        if not re.search(r"\w", text):  # a marker-only fragment belongs to the sentence before
            if claims:
                claims[-1].cited += [n for n in cited if n not in claims[-1].cited]
            continue
        claims.append(Claim(text=text, cited=cited, marker_as_content=_marker_as_content(piece)))
    return claims


# A sentence that says the sources do not answer ("The articles do not say …", "… is not
# found [1]") is a refusal, not a claim, even with a citation.
_SAYS_NOTHING = re.compile(
    r"\b(?:not (?:found|mentioned|stated|specified|given|provided)|(?:does|do|did) not (?:say|mention|state|specify|contain|provide)|"
    r"no (?:information|mention)|nicht (?:erwähnt|genannt|angegeben|bekannt|gefunden)|keine (?:Angaben|Informationen)|"
    r"(?:sagen|erwähnen|nennen|enthalten) (?:die Artikel|der Artikel|die Sätze) (?:nicht|nichts))\b"
    r"|没有提到|未提及|没有提及|没有说明|未说明|没有信息|不得而知|لم (?:يذكر|تذكر|يتم ذكر)|لا (?:يذكر|تذكر|توجد معلومات)|غير مذكور",
    re.IGNORECASE)


def says_nothing(sentence: str) -> bool:
    return bool(_SAYS_NOTHING.search(sentence))


def is_refusal(answer: str) -> bool:
    from qa.models.generator import NOT_FOUND

    if not answer.strip() or re.search(rf"\b{NOT_FOUND}\b", answer):
        return True
    # the whole answer is the token in another spelling ("NOT FOUND", "not_found.")
    return re.sub(r"[\W_]+", "_", answer).strip("_").upper() == NOT_FOUND


_NOT_NAMES = frozenset(
    "january february march april may june july august september october november december "
    "januar februar märz juni juli oktober dezember dollar dollars us-dollar usd euro yuan rmb "
    "milliarden millionen prozent ki ai".split()
)


def _names(sentence: str, lang: str = "en") -> list[str]:
    """Latin-script names in a sentence. German capitalises every noun, so there a name must
    look like one: a digit or an inner capital ("GPT-4o", "OpenAI") or a run of capitalised
    words ("Andrej Karpathy")."""
    names = []
    matches = list(_NAME.finditer(sentence))
    for i, m in enumerate(matches):
        word = re.sub(r"['’]s$", "", m.group())  # "OpenAI's" names OpenAI
        initial = not sentence[: m.start()].strip()
        if word.lower() in numbers.WORDS or word.lower() in _NOT_NAMES or len(word) < 3:
            continue
        # The first word is capitalised anyway: a name only when it looks like one ("OpenAI")
        # or starts a run of capitalised words ("Mira Murati").
        if initial and not (re.search(r"\d|.[A-Z]", word) or _in_run(sentence, matches, i)):
            continue
        if lang == "de" and not (re.search(r"\d|.[A-Z]", word) or
                                 (_in_run(sentence, matches, i) and not _GERMAN_NOUN.search(word))):
            continue
        names.append(word)
    return names


_GERMAN_NOUN = re.compile(r"(ung|ungen|heit|keit|schaft|tion|tät|nis|en|ern|chen)$")


def _in_run(sentence: str, matches: list, i: int) -> bool:
    """Whether match i is next to another capitalised word, separated by a single space."""
    left = i > 0 and sentence[matches[i - 1].end() : matches[i].start()] == " "
    right = i + 1 < len(matches) and sentence[matches[i].end() : matches[i + 1].start()] == " "
    return bool(left or right)


# Problems that sit in one word of a sentence: the rest of it may still be a right answer
# ("他是 Alexandr Wang，他38岁" for an age of 28: the name clause is right).
_LOCAL_PROBLEMS = frozenset({Reason.NUMBER_NOT_IN_SOURCES, Reason.NUMBER_WITHOUT_ITS_NAME,
                             Reason.NAME_NOT_IN_SOURCES, Reason.FOREIGN_WORDS})
# A clause ends at a comma or semicolon followed by a space (a decimal comma has none) or at a
# full-width/Arabic one; a conjunction opening the next clause is dropped with the break.
_CLAUSE_BREAK = re.compile(r"(?:[,;]\s+|[，；、]|[،؛]\s*)(?:(?:and|but|und|aber|sowie|而且|并且|而|但|و)\s+)?",
                           re.IGNORECASE)
_END = re.compile(r"[.!?。！？؟]+[\"'”“»」]*$")


def clauses(sentence: str, lang: str) -> list[str]:
    """The clauses of a sentence, each ending like the sentence does ("Wang is 28, and Meta
    hired him." → "Wang is 28.", "Meta hired him."); one item when there is no break."""
    end = _END.search(sentence)
    stop = end.group() if end else ""
    body = sentence[: end.start()] if end else sentence
    parts = [p.strip() for p in _CLAUSE_BREAK.split(body) if p and p.strip()]
    # a list ("Schulman, Brooks and Leike left") is one statement, not clauses
    if len(parts) <= 1 or not all(long_enough(p) for p in parts):
        return [sentence]
    return [p + stop for p in parts]


def _only_names(sentence: str, haystack: str) -> bool:
    """A sentence that is nothing but a name of the passages or the question ("Alexandr Wang."
    answering "是谁？"): right in any script."""
    words = re.findall(r"\w+", sentence)
    return 0 < len(words) <= 4 and all(w.lower() in haystack for w in words) and not any(w.isdigit() for w in words)


@dataclass
class Verdict:
    claim: Claim
    cite: list[int]  # passage numbers (1-based) after repair
    support: float
    problem: str = ""  # what is wrong, as text ("" = nothing)
    reason: Reason | None = None  # the same, as a code


def removal(v: Verdict, verify: bool = True) -> Removal | None:
    """Why this sentence is left out of the answer, or None when it stays."""
    if verify and v.problem:
        return Removal(v.claim.text, v.reason or Reason.UNSUPPORTED, v.problem)
    if verify and not v.cite:
        return Removal(v.claim.text, Reason.NO_CITATION, "no citation")
    return None


class Verifier:
    def __init__(self, embedder, threshold: float = SUPPORT_THRESHOLD):
        self.embedder = embedder
        self.threshold = threshold

    def check(self, claims: list[Claim], passages: list[Passage], passage_vectors: np.ndarray,
              question: str, lang: str, documents: list[str] | None = None) -> list[Verdict]:
        """Verdicts for each claim. `documents` holds the full article text of each passage: a
        name the claim pairs with a number must stand in the same article as that number. A
        sentence that fails for one wrong word (a number, a name, a foreign word) is checked
        again clause by clause, and its clauses that pass stay (see clauses)."""
        verdicts = []
        for v in self._check(claims, passages, passage_vectors, question, lang, documents):
            parts = clauses(v.claim.text, lang) if v.reason in _LOCAL_PROBLEMS else []
            if len(parts) > 1:
                sub = self._check([Claim(text=t, cited=list(v.claim.cited)) for t in parts],
                                  passages, passage_vectors, question, lang, documents)
                if any(not s.problem for s in sub):
                    verdicts += sub
                    continue
            verdicts.append(v)
        return verdicts

    def _check(self, claims: list[Claim], passages: list[Passage], passage_vectors: np.ndarray,
               question: str, lang: str, documents: list[str] | None = None) -> list[Verdict]:
        if not claims:
            return []
        stated = [numbers.extract(p.chunk.text, lang=p.chunk.lang) for p in passages]
        texts = [p.chunk.text.lower() for p in passages]
        articles = [d.lower() for d in documents] if documents else texts
        haystack = " ".join(texts) + " " + question.lower()
        question_numbers = numbers.extract(question, lang=lang)
        question_tokens = set(tokenize(question))
        written = [c.text for c in claims]  # as the model wrote them, for the language check
        claims = [self._repair_numbers(c, stated, question_numbers, lang) for c in claims]
        vectors = self.embedder.embed_queries([c.text for c in claims])
        sims = vectors @ passage_vectors.T  # claims × passages
        verdicts = []
        for ci, claim in enumerate(claims):
            cite = list(claim.cited)
            problem, reason = "", None
            claimed = [v for v in numbers.extract(_NAMED_NUMBER.sub(" ", claim.text), lang=lang)
                       if not any(numbers.same(v, q) for q in question_numbers)]
            names = _names(claim.text, lang)
            known = [n for n in names if n.lower() in " ".join(texts)]
            number_evidence = False
            if claimed:
                # passages stating every number of the claim, and every corpus name it pairs them with
                ok = [j + 1 for j in range(len(passages)) if not numbers.supported(claimed, stated[j])]
                together = [n for n in ok if all(k.lower() in articles[n - 1] for k in known)]
                if together:
                    number_evidence = True
                    if not any(n in together for n in cite):
                        cite = [max(together, key=lambda n: sims[ci, n - 1])]
                elif ok:
                    reason = Reason.NUMBER_WITHOUT_ITS_NAME
                    problem = (f"the passages do not state {', '.join(numbers.render(v, 'en') for v in claimed)} "
                               f"together with {', '.join(known)}")
                else:
                    reason = Reason.NUMBER_NOT_IN_SOURCES
                    missing = numbers.supported(claimed, [v for vs in stated for v in vs])
                    problem = f"number not in the passages: {', '.join(numbers.render(v, 'en') for v in missing or claimed)}"
            if not problem and says_nothing(claim.text):
                problem, reason = "says the sources do not answer", Reason.SAYS_SOURCES_DO_NOT_ANSWER
            if not problem and claim.marker_as_content:
                problem, reason = "a citation marker stands in place of the answer", Reason.MARKER_AS_CONTENT
            if not problem:
                unknown = self._untranslated([n for n in names if n.lower() not in haystack], passages)
                if unknown:
                    problem, reason = f"name not in the passages: {', '.join(unknown)}", Reason.NAME_NOT_IN_SOURCES
            if not problem and not claimed and not (set(tokenize(claim.text)) - question_tokens):
                problem, reason = "adds nothing to the question", Reason.ADDS_NOTHING
            if not problem and lang in _SCRIPTS and not _SCRIPTS[lang].search(written[ci]) \
                    and not _only_names(written[ci], haystack):
                problem, reason = "sentence is not in the question's language", Reason.WRONG_SCRIPT
            if not problem and (foreign := foreign_words(written[ci], lang, question)):
                problem, reason = f"words of another language: {', '.join(foreign[:5])}", Reason.FOREIGN_WORDS
            best = int(np.argmax(sims[ci]))
            support = max((float(sims[ci, n - 1]) for n in cite), default=-1.0)
            if not problem and support < self.threshold and not number_evidence:
                if sims[ci, best] >= self.threshold:
                    cite, support = [best + 1], float(sims[ci, best])
                else:
                    reason = Reason.UNSUPPORTED
                    problem = f"not supported by the passages (similarity {max(support, float(sims[ci, best])):.2f})"
            verdicts.append(Verdict(claim=claim, cite=cite, support=support, problem=problem, reason=reason))
        return verdicts

    def _untranslated(self, names: list[str], passages: list[Passage]) -> list[str]:
        """The names with no alias among the words of the passages (another script or
        language's spelling of the same name: see ALIAS_COSINE)."""
        if not names:
            return []
        words: set[str] = set()
        for p in passages:
            words.update(_ALIAS_WORD.findall(p.chunk.text))
            for run in _HAN.findall(p.chunk.text):  # no spaces in Chinese: every 2–4 character window
                words.update(run[i:i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1))
        if not words:
            return names
        words_ = sorted(words)
        sims = self.embedder.embed_queries(names) @ self.embedder.embed_documents(words_).T
        return [n for n, row in zip(names, sims) if float(row.max()) < ALIAS_COSINE and not any(
            row[j] >= SOUND_ALIAS_COSINE and sounds_alike(n, w) for j, w in enumerate(words_))]

    @staticmethod
    def _repair_numbers(claim: Claim, stated: list[list[float]], question_numbers: list[float],
                        lang: str) -> Claim:
        """Fix a number whose digits match a passage's but whose magnitude is wrong (66亿 written
        as "66 billion" instead of 6.6 billion): rewrite it from the passage's value. Also write
        numbers that use another language's scale word in the answer's language."""
        every = [v for vs in stated for v in vs]
        text = _without_invented_years(claim.text, every + question_numbers, lang)
        named = [(m.start(), m.end()) for m in _NAMED_NUMBER.finditer(text)]
        for start, end, value in reversed(numbers.spans(text, lang)):
            if any(a <= start < b for a, b in named):
                continue
            if any(numbers.same(value, v) for v in every + question_numbers):
                continue
            candidates = {round(v, 6) for v in every
                          if numbers.significant(v) == numbers.significant(value) and v >= 1000}
            if len(candidates) == 1 and value >= 1000:
                text = text[:start] + numbers.render(candidates.pop(), lang) + text[end:]
        # a right number in another language's words ("32 Milliarden" in English): same value,
        # written the answer's way
        for start, end, value in reversed(numbers.foreign_scales(text, lang)):
            rest = text[end:]
            currency = _CURRENCY.match(rest)
            if currency and lang in _CURRENCY_WORD:
                rest = _CURRENCY_WORD[lang] + rest[currency.end():]
            text = text[:start] + numbers.render(value, lang) + rest
        return claim if text == claim.text else Claim(text=text, cited=claim.cited, repaired=True)


# A year the model adds to a month the passages give without one ("in May 2021" for "5 月"):
# the year goes, the month stays. Month names of the languages answered in; Chinese writes the
# year before the month ("2021年5月").
_MONTH_BEFORE = re.compile(
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"januar|februar|märz|mai|juni|juli|oktober|dezember|يناير|فبراير|مارس|أبريل|إبريل|مايو|يونيو|"
    r"يوليو|أغسطس|سبتمبر|أكتوبر|نوفمبر|ديسمبر)[ ,]*$", re.IGNORECASE)
_MONTH_AFTER_ZH = re.compile(r"^\s*年\s*(?=\d{1,2}\s*月)")


def _without_invented_years(text: str, known: list[float], lang: str) -> str:
    """The text without years that no passage states when they only date a month."""
    for start, end, value in reversed(numbers.spans(text, lang)):
        if not (1900 <= value <= 2100 and value == int(value)) or any(numbers.same(value, v) for v in known):
            continue
        before, after = text[:start], text[end:]
        if _MONTH_BEFORE.search(before):
            text = before.rstrip(" ,") + after
        elif (zh := _MONTH_AFTER_ZH.match(after)):
            text = before + after[zh.end():]
    return text


def _quote_span(passage: Passage, claim_text: str, question: str) -> tuple[int, int]:
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
            any(numbers.same(v, w) for w in numbers.extract(text, words=False)) for v in want_numbers)
        if score > best_score:
            best, best_score = (s, e), score
    return best if best else (passage.chunk.start, passage.chunk.end)


def assemble(verdicts: list[Verdict], passages: list[Passage], docs: dict[str, Document],
             question: str, lang: str, verify: bool = True) -> tuple[str, list[Citation], list[str]]:
    """Final text with renumbered markers, its citations, and notes on what was removed."""
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    parts, notes = [], []
    for v in verdicts:
        if (gone := removal(v, verify)) is not None:
            notes.append(f"removed “{gone.text}”: {gone.detail}")
            continue
        if v.claim.repaired:
            notes.append(f"number corrected from the passage: “{v.claim.text}”")
        markers = []
        for n in v.cite:
            if n not in numbering:
                numbering[n] = len(numbering) + 1
                p = passages[n - 1]
                start, end = _quote_span(p, v.claim.text, question)
                doc = docs.get(p.chunk.doc_id)
                quote = doc.text[start:end] if doc else p.chunk.text
                citations.append(Citation(
                    n=numbering[n], doc_id=p.chunk.doc_id, chunk_id=p.chunk.id, quote=quote,
                    lang=p.chunk.lang, start=start, end=end, title=doc.title if doc else "",
                    support=round(v.support, 4)))
            markers.append(f"[{numbering[n]}]")
        text = v.claim.text
        if markers:
            text = _attach(text, "".join(markers))
        parts.append(text)
    joiner = "" if lang in ("zh", "ja") else " "
    return joiner.join(parts).strip(), citations, notes


def _attach(sentence: str, markers: str) -> str:
    """Put markers before the sentence's final punctuation: "… Anthropic [1]."."""
    m = re.search(r"[.!?。！？؟]+[\"'”“»」]*$", sentence)
    if m:
        return sentence[: m.start()].rstrip() + (" " if not _is_cjk_end(sentence[: m.start()]) else "") + markers + sentence[m.start():]
    return sentence + (" " if not _is_cjk_end(sentence) else "") + markers


def _is_cjk_end(text: str) -> bool:
    return bool(text) and "\u3000" <= text[-1] <= "\u9fff"


def join_answers(question: str, lang: str, parts: list[str], answers: list[Answer]) -> Answer:
    """One answer to a question asked in parts (qa.question): the parts' texts in order, their
    citations renumbered by first use (one source cited by both parts keeps one number), and for
    a part the articles do not answer, a sentence saying so. Abstains only when every part did."""
    answered = [a for a in answers if not a.abstained]
    notes = [n for a in answers for n in a.notes]
    removed = [r for a in answers for r in a.removed]
    sources = list({p.chunk.id: p for a in answers for p in a.sources}.values())
    if not answered:
        first = answers[0]
        return Answer(question, first.text, [], sources, True, lang, {}, notes, removed, first.abstain_reason)
    numbering: dict[tuple, int] = {}
    citations: list[Citation] = []
    texts = []
    for part, a in zip(parts, answers):
        if a.abstained:
            texts.append(NOT_ANSWERED.get(lang, NOT_ANSWERED["en"]).format(part))
            continue
        local = {}
        for c in a.citations:
            key = (c.chunk_id, c.start, c.end)
            if key not in numbering:
                numbering[key] = len(numbering) + 1
                citations.append(replace(c, n=numbering[key]))
            local[c.n] = numbering[key]
        texts.append(re.sub(r"\[(\d+)\]", lambda m: f"[{local.get(int(m.group(1)), m.group(1))}]", a.text))
    joiner = "" if lang in ("zh", "ja") else " "
    return Answer(question, joiner.join(texts), citations, sources, False, lang, {}, notes, removed,
                  from_evidence=any(a.from_evidence for a in answered))
