"""One question (or one part of a two-part question) answered from its evidence, stage by stage:

    gate (refusal: is anything relevant? does a passage state the answer?) →
    draft (generate, streamed) → language repair → check (qa.answering.verify) →
    cite (qa.answering.cite) → [refused?] → fallback

Everything it needs (the store, the embedder, the generator, the settings) is handed in; it
holds no state between questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from qa.answering import draft as drafting
from qa.answering import fallback, probe, refusal
from qa.answering.checks.base import Context
from qa.answering.cite import assemble
from qa.answering.claims import parse
from qa.answering.draft import Drafter
from qa.answering.judge import Judge
from qa.answering.prompts import build_messages, translation_request
from qa.answering.timings import Timings
from qa.answering.verify import unchecked, verify
from qa.config import Config
from qa.models.embedder import Embedder
from qa.models.generator import Generator
from qa.store.base import Store, documents_of
from qa.types import Answer, Evidence, Passage, Reason, TextDelta


class Pipeline:
    def __init__(self, cfg: Config, store: Store, embedder: Embedder, generator: Generator):
        self.cfg, self.store, self.embedder = cfg, store, embedder
        self.drafter = Drafter(generator, cfg.draft)

    def answer(
        self,
        question: str,
        lang: str,
        evidence: Evidence,
        history: list[dict],
        timings: Timings,
        parts: tuple[str, ...] = (),
    ) -> Iterator[TextDelta]:
        """Yield the draft as it is generated; return the checked Answer (timings are added to
        `timings`). A question asked whole that has `parts` is refused before generating unless
        the evidence states every part too (each is probed like the question)."""
        if refusal.irrelevant(evidence, self.cfg.retrieval.min_relevance):
            return refusal.refused(
                question,
                lang,
                Reason.NOT_RELEVANT,
                evidence.retrieved,
                [f"nothing in the articles is close to the question (best match {evidence.relevance:.2f})"],
            )
        with timings.stage("probe"):
            gap = next((g for q in (question, *parts) if (g := self.unstated(q, lang, evidence, history))), None)
        if gap:
            return refusal.refused(question, lang, Reason.NOT_STATED, evidence.given, [gap])
        messages = build_messages(question, evidence.given, lang, history)
        with timings.stage("generate"):  # the rewrite into the question's language included
            text = yield from self.drafter.stream(messages, timings)
            if self.cfg.is_on("rewrite_language") and drafting.wrong_language(text, lang, question):
                with timings.stage("rewrite"):
                    text = self.drafter.in_language(text, messages, lang, question)
        earlier = tuple(str(t.get("content", "")) for t in history if t.get("role") == "user")
        with timings.stage("verify"):
            answer = self.checked(question, lang, text, evidence.given, earlier)
        if (
            answer.abstained
            and self.cfg.is_on("fallback")
            and fallback.applies(evidence.best, self.cfg.checks.fallback_cosine)
        ):
            with timings.stage("fallback"):
                answer = self.from_evidence(question, lang, evidence.best, answer, earlier)
            answer = replace(answer, sources=fallback.shown_sources(evidence.given, evidence.best))
        return answer

    def unstated(self, question: str, lang: str, evidence: Evidence, history: list[dict]) -> str | None:
        """Why the evidence does not state what the question asks (refused before generating), or None."""
        if self.cfg.is_on("probe"):
            p = probe.p_none(self.drafter.generator, question, evidence.given, lang, history)
            return refusal.probe_says_none(p, self.cfg.checks.probe_none)
        return None

    def checked(
        self, question: str, lang: str, text: str, given: list[Passage], earlier: tuple[str, ...] = ()
    ) -> Answer:
        """The draft checked against the units the model was given: its supported sentences,
        cited; or a refusal when the model refused or nothing supported remains. `earlier`: the
        user's earlier questions in the conversation (a name written there is no invented one)."""
        if refusal.is_refusal(text):
            return refusal.refused(
                question, lang, Reason.MODEL_REFUSED, given, ["the model found no answer in the passages"]
            )
        claims = parse(text, len(given), lang)
        docs = documents_of(self.store, (p.doc_id for p in given))
        on = self.cfg.checks.enabled
        if on:
            documents = [docs[p.doc_id].text if p.doc_id in docs else p.chunk.text for p in given]
            judge = Judge(self.drafter.generator, question)
            ctx = Context.of(question, lang, given, documents, self.cfg.checks, self.embedder, judge, earlier)
            verdicts = verify(claims, ctx, self.store.unit_vectors([p.chunk.id for p in given]))
        else:
            verdicts = unchecked(claims)
        cited = assemble(verdicts, given, docs, question, lang, on)
        if not cited.text or (on and not cited.citations):
            return refusal.refused(
                question,
                lang,
                Reason.NOTHING_SUPPORTED,
                given,
                cited.notes + ["nothing supported by the passages remained"],
                cited.removed,
            )
        return Answer(
            question, cited.text, cited.citations, given, False, lang, notes=cited.notes, removed=cited.removed
        )

    def from_evidence(
        self, question: str, lang: str, best: Passage, refused: Answer, earlier: tuple[str, ...] = ()
    ) -> Answer:
        """The best evidence sentence as the answer (translated when it is in another language),
        checked like a draft; the refusal stands when it fails too."""
        sentence = fallback.sentence_of(best)
        if best.chunk.lang != lang:
            sentence = self.drafter.complete(translation_request(sentence, lang), 0.0).strip()
        answer = self.checked(question, lang, f"{sentence} [1]", [best], earlier)
        if answer.abstained:
            return refused
        return replace(
            answer,
            notes=refused.notes + ["answered from the best evidence sentence"] + answer.notes,
            removed=refused.removed + answer.removed,
            from_evidence=True,
        )
