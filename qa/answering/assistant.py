"""The assistant: one facade over the pipeline stages.

question → validate → retrieve (+ calibrated relevance check: abstain before generating when
the corpus has nothing on the topic) → generate (streamed) → verify citations → Answer.
Models and the store (qa.store: QA_STORE=faiss or postgres) are loaded once per process and
shared by every thread; everything the assistant reads of the articles goes through the Store
protocol, so both engines answer alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import unicodedata
from pathlib import Path
from typing import Iterator

import numpy as np

from qa.answering import cite
from qa.answering import evidence
from qa.config import MAX_QUESTION_CHARS, Config, load_config
from qa.text.chunking import split_sentences
from qa.text.corpus import make_document, write_source
from qa.formats import extract
from qa.models.embedder import make_embedder
from qa.models.generator import build_messages, make_generator, rewrite_request, translation_request
from qa.text.lang import detect, foreign_words, preload
from qa.text.question import split_question
from qa.answering.retrieve import Retriever, fit_budget, rrf
from qa.store.base import Store, WritableStore, documents_of, embed_article, load_or_build_store
from qa.types import Answer, Evidence, Passage, Reason, SourcesFound, StreamEvent, TextDelta

CALIBRATION_FILE = Path(__file__).resolve().parents[1] / "calibration.json"


def calibration() -> dict:
    try:
        return json.loads(CALIBRATION_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _setting(configured: float | None, calibrated: float) -> float:
    """A threshold set in Config, else the calibrated one (None in Config means "not set")."""
    return calibrated if configured is None else configured


def clean_history(history) -> list[dict]:
    """Earlier turns as [{"role": "user"|"assistant", "content": str}]; ValueError otherwise."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise ValueError("history must be a list of {'role': ..., 'content': ...} turns")
    turns = []
    for turn in history:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") \
                or not isinstance(turn.get("content"), str):
            raise ValueError("each history turn must be {'role': 'user' or 'assistant', 'content': text}")
        turns.append({"role": turn["role"], "content": turn["content"]})
    return turns


def clean_question(question) -> str:
    """The question with control characters removed; ValueError saying what is wrong."""
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, not {type(question).__name__}")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    cleaned = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in question)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise ValueError("the question is empty" if not question.strip() else
                         "the question contains only control characters")
    if not any(ch.isalnum() for ch in cleaned):
        raise ValueError("the question has no words in it (only symbols or emoji); please ask in words")
    return cleaned


class Assistant:
    def __init__(self, config: Config | None = None, log=None):
        self.cfg = config or load_config()
        self.log = log
        self._lock = threading.RLock()  # one index change at a time
        self._loading = {name: threading.Lock() for name in ("embedder", "store", "generator")}
        self._store: WritableStore | None = None
        self._embedder = None
        self._generator = None
        cal = calibration()
        self.min_relevance = _setting(self.cfg.min_relevance, cal.get("min_relevance", 0.25))
        self.support_threshold = _setting(self.cfg.support_threshold, cal.get("support_threshold", cite.SUPPORT_THRESHOLD))
        # an evidence sentence this close to the question answers it when the model's own answer
        # failed (calibrated on dev: above the closest unanswerable question's best sentence)
        self.fallback_cosine = _setting(self.cfg.fallback_cosine, cal.get("fallback_cosine", 0.65))

    # -- lazy, shared state -------------------------------------------------------------------
    # One lock per resource, so warm_up() can load the generator while the embedder loads.
    @property
    def embedder(self):
        with self._loading["embedder"]:
            if self._embedder is None:
                self._embedder = make_embedder(self.cfg)
            return self._embedder

    @property
    def store(self) -> WritableStore:
        """The store of the articles (Config.store), built from the corpus when empty or stale."""
        with self._loading["store"]:
            if self._store is None:
                self._store = load_or_build_store(self.cfg, self.embedder, log=self.log)
            return self._store

    @property
    def generator(self):
        with self._loading["generator"]:
            if self._generator is None:
                self._generator = make_generator(self.cfg)
            return self._generator

    def warm_up(self) -> None:
        """Load everything now (index + embedder, generator, language detector) and prime the
        prompt cache. The generator and the detector load in threads beside the embedder and the
        index. Measured from process start, two runs each: 18.1 and 18.4 s this way, 22.3 and
        19.1 s one after the other. The gain is small because loading the detector and the
        generator holds the GIL (~1.3 s and ~1.9 s) while the main thread imports and loads."""
        errors: list[BaseException] = []

        def prime() -> None:
            for _delta in self.generator.stream(build_messages("?", [], "en"), 1, 0.0):
                pass

        def run(job) -> None:
            try:
                job()
            except BaseException as err:  # re-raised in the caller's thread
                errors.append(err)

        threads = [threading.Thread(target=run, args=(job,), daemon=True, name=f"warm-up-{i}")
                   for i, job in enumerate((prime, preload))]
        for thread in threads:
            thread.start()
        run(lambda: self.store)
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def add_document(self, name: str, data: bytes) -> str:
        """Index an uploaded article (.txt, .md, .html, .pdf, .docx: qa.formats) incrementally and
        persist it; returns its document id. A file that cannot be used raises a CorpusError
        (qa.formats.FormatError for the file itself) before anything is loaded or written."""
        stem = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.UNICODE).strip("._")[:80] or "upload"
        found = extract(name, data)
        text = found.text
        with self._lock:
            store = self.store
            taken = store.document_ids()
            doc_id = f"upload_{stem}"
            n = 2
            while doc_id in taken:
                doc_id, n = f"upload_{stem}_{n}", n + 1
            # an HTML, PDF or Word file is stored as its extracted text (<id>.txt), which is what
            # is chunked and cited; its original name, type and metadata go beside it (<id>.source.json)
            path = self.cfg.uploads_dir / f"{doc_id}{found.suffix}"
            doc = make_document(doc_id, text, str(path), **found.metadata())
            store.check_new(doc)  # a duplicate is refused before any file is written
            units = embed_article(doc, self.embedder, self.cfg)
            # the file first: a crash after it leaves the store stale (rebuilt with the file on
            # restart), never an indexed article without its file
            self.cfg.uploads_dir.mkdir(parents=True, exist_ok=True)
            written = [write_source(path, found.metadata())] if found.converted else []
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(text.encode("utf-8"))
            tmp.replace(path)
            written.append(path)
            try:
                # the manifest records the file as written (UTF-8), so the index stays fresh on
                # restart; the FAISS store saves a new generation, PostgreSQL adds in one transaction
                store.add_document(doc, *units, hashlib.sha256(path.read_bytes()).hexdigest())
            except BaseException:
                for file in written:
                    file.unlink(missing_ok=True)
                raise
        return doc_id

    # -- answering ----------------------------------------------------------------------------
    def retrieve(self, question: str, history: list[dict] | None = None,
                 k: int | None = None) -> tuple[list[Passage], float, np.ndarray]:
        """Passages for a question (top `k`, default Config.top_k), the relevance of the best
        match, and the query vectors (rows: the question; for a follow-up also the question
        together with the one before it)."""
        k = k or self.cfg.top_k
        retriever = Retriever(self.store, self.embedder, self.cfg)
        previous = [t["content"] for t in (history or []) if t.get("role") == "user" and t.get("content")]
        qv = retriever.query_vector(question)
        relevance = retriever.relevance(qv)
        passages = retriever.search(question, k=k, vector=qv)
        vectors = [qv]
        if previous:  # a follow-up ("and why?") is searched together with the question before it
            combined = f"{previous[-1]}\n{question}"
            cv = retriever.query_vector(combined)
            relevance = max(relevance, retriever.relevance(cv))
            more = retriever.search(combined, k=k, vector=cv)
            fused = rrf([[p.chunk.id for p in more], [p.chunk.id for p in passages]], self.cfg.rrf_k)
            pool = {p.chunk.id: p for p in passages + more}
            passages = [pool[i] for i in sorted(fused, key=lambda i: -fused[i])][:k]
            vectors.append(cv)
        return passages, relevance, np.stack(vectors)

    def select_evidence(self, question: str, history: list[dict] | None = None,
                        lang: str | None = None) -> Evidence:
        """Retrieve, then choose what the generator is given: the best sentences of the
        retrieved articles (or whole passages when Config.evidence_sentences is 0), for a
        reader of `lang` (default: the question's language)."""
        lang = lang or detect(question)
        retrieved, relevance, query_vectors = self.retrieve(question, history)
        store, cfg = self.store, self.cfg
        vectors = list(query_vectors)
        if cfg.evidence_sentences:
            given = evidence.select(store, retrieved, vectors, cfg.context_budget, cfg.evidence_sentences,
                                    cfg.duplicate_cosine, cfg.evidence_context, cfg.evidence_margin,
                                    cfg.evidence_redundancy, lang)
            best = given[:1]  # the best sentence always goes in first
        else:
            given = fit_budget(retrieved, cfg.context_budget)
            best = evidence.select(store, retrieved, vectors, 0, 1, cfg.duplicate_cosine, cfg.evidence_context,
                                   lang=lang)
        return Evidence(retrieved, given, best[0] if best else None, relevance)

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[StreamEvent]:
        """Yield the sources as soon as they are found (SourcesFound), the answer text as it is
        generated (TextDelta), then the verified Answer (always last). A question that asks two
        things (qa.question) is answered part by part and the answers joined."""
        question = clean_question(question)
        history = clean_history(history)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        _ = self.store, self.generator  # loaded once per process; not part of the stage times
        preload()  # the language detector's models, once per process
        if time.perf_counter() - t > 0.05:
            timings["load"] = time.perf_counter() - t
        started = time.perf_counter()
        lang = detect(question)
        parts = split_question(question, lang) if self.cfg.split_questions else [question]
        t = time.perf_counter()
        # a later part ("… and how much did they pay for it?") is searched together with the whole question
        founds = [self.select_evidence(part, history if i == 0 else history + [{"role": "user", "content": question}], lang)
                  for i, part in enumerate(parts)]
        timings["retrieve"] = time.perf_counter() - t
        shown = {p.chunk.id: p for f in founds
                 for p in (f.given if f.relevance >= self.min_relevance else f.retrieved)}
        yield SourcesFound(list(shown.values()))
        answers: list[Answer] = []
        turns = list(history)
        for part, found in zip(parts, founds):
            if answers:
                yield TextDelta("" if lang in ("zh", "ja") else " ")
            answer = yield from self._answer(part, lang, found, turns, timings, started)
            answers.append(answer)
            turns += [{"role": "user", "content": part}, {"role": "assistant", "content": answer.text}]
        answer = answers[0] if len(answers) == 1 else cite.join_answers(question, lang, parts, answers)
        timings["total"] = time.perf_counter() - started
        answer.timings = timings
        yield answer

    def _answer(self, question: str, lang: str, found: Evidence, history: list[dict],
                timings: dict[str, float], started: float) -> Iterator[TextDelta]:
        """Answer one question from its evidence: stream the text, check it, fall back on the
        best evidence sentence; returns the Answer (stage times are added to `timings`)."""
        passages = found.given
        if found.relevance < self.min_relevance or not found.retrieved:
            return Answer(question, cite.abstain_text(lang), [], found.retrieved, True, lang, {},
                          [f"nothing in the articles is close to the question (best match {found.relevance:.2f})"],
                          abstain_reason=Reason.NOT_RELEVANT)
        index = self.store
        t = time.perf_counter()
        raw: list[str] = []
        messages = build_messages(question, passages, lang, history)
        yield from self._stream_text(messages, raw, timings, started)
        spent = dict(timings)
        answer = self._checked(question, lang, "".join(raw), messages, passages, index, timings)
        verify = timings.get("verify", 0.0) - spent.get("verify", 0.0)
        timings["generate"] = timings.get("generate", 0.0) + time.perf_counter() - t - verify
        best = found.best
        if answer.abstained and self.cfg.verify and best is not None and best.score >= self.fallback_cosine:
            t = time.perf_counter()
            answer = self._from_evidence(question, lang, best, index, answer)
            # the sentence it was written from is shown with the rest of what was given
            answer.sources = passages + ([best] if best.chunk.id not in {p.chunk.id for p in passages} else [])
            timings["fallback"] = timings.get("fallback", 0.0) + time.perf_counter() - t
        return answer

    def _stream_text(self, messages: list[dict], raw: list[str], timings: dict[str, float],
                     started: float) -> Iterator[TextDelta]:
        """Stream the generator's text as TextDelta events (collected in `raw`); the first
        characters are held back until a refusal (NOT_FOUND) is ruled out."""
        held: str | None = ""
        for delta in self.generator.stream(messages, self.cfg.max_tokens, self.cfg.temperature):
            if "ttft" not in timings:
                timings["ttft"] = time.perf_counter() - started
            raw.append(delta)
            if held is None:
                yield TextDelta(delta)
                continue
            held += delta
            if len(held) >= 10 or not "NOT_FOUND".startswith(held.strip()[:9]):
                if not cite.is_refusal(held):
                    yield TextDelta(held)
                    held = None

    def _checked(self, question: str, lang: str, text: str, messages: list[dict],
                 passages: list[Passage], index: Store, timings: dict[str, float]) -> Answer:
        """The generated text in the question's language, verified against the passages."""
        if self.cfg.verify and self._wrong_language(text, lang, question):
            t = time.perf_counter()
            text = self._into_language(text, messages, lang, question)
            timings["rewrite"] = timings.get("rewrite", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        answer = self._verify(question, lang, text, passages, index)
        timings["verify"] = timings.get("verify", 0.0) + time.perf_counter() - t
        return answer

    def _into_language(self, text: str, messages: list[dict], lang: str, question: str) -> str:
        """The answer in the question's language: the model is asked once to rewrite it; a
        sentence that still carries words of another language is then translated on its own
        (a one-sentence translation kept the facts where the rewrite left German words in)."""
        text = "".join(self.generator.stream(rewrite_request(messages, text, lang),
                                             self.cfg.max_tokens, self.cfg.temperature))
        pieces = []
        for s, e in split_sentences(text, 0, len(text), lang):
            piece = text[s:e]
            plain = cite.without_markers(piece)
            if plain and foreign_words(plain, lang, question):
                translated = "".join(self.generator.stream(translation_request(plain, lang),
                                                           self.cfg.max_tokens, 0.0)).strip()
                piece = f"{translated} {''.join(cite.markers(piece))}".strip()
            pieces.append(piece)
        return ("" if lang in ("zh", "ja") else " ").join(pieces)

    @staticmethod
    def _wrong_language(text: str, lang: str, question: str = "") -> bool:
        """The answer, or words inside it, are in another language than the question's."""
        plain = cite.without_markers(text)
        if cite.is_refusal(text):
            return False
        if foreign_words(plain, lang, question):
            return True
        return sum(ch.isalpha() for ch in plain) >= 20 and detect(plain) != lang

    def _verify(self, question: str, lang: str, text: str, passages: list[Passage], index: Store) -> Answer:
        if cite.is_refusal(text):
            return Answer(question, cite.abstain_text(lang), [], passages, True, lang, {},
                          ["the model found no answer in the passages"], abstain_reason=Reason.MODEL_REFUSED)
        claims = cite.parse(text, len(passages), lang)
        vectors = index.unit_vectors([p.chunk.id for p in passages])
        verifier = cite.Verifier(self.embedder, self.support_threshold)
        docs = documents_of(index, (p.doc_id for p in passages))
        documents = [docs[p.doc_id].text if p.doc_id in docs else p.chunk.text for p in passages]
        verdicts = verifier.check(claims, passages, vectors, question, lang, documents) if self.cfg.verify else [
            cite.Verdict(claim=c, cite=c.cited, support=0.0) for c in claims]
        final, citations, notes = cite.assemble(verdicts, passages, docs, question, lang, self.cfg.verify)
        removed = [r for v in verdicts if (r := cite.removal(v, self.cfg.verify)) is not None]
        if not final or (self.cfg.verify and not citations):
            return Answer(question, cite.abstain_text(lang), [], passages, True, lang, {},
                          notes + ["nothing supported by the passages remained"], removed,
                          Reason.NOTHING_SUPPORTED)
        return Answer(question, final, citations, passages, False, lang, {}, notes, removed)

    def _from_evidence(self, question: str, lang: str, best: Passage, index: Store,
                       abstained: Answer) -> Answer:
        """Answer with the best evidence sentence when the model's answer failed its checks or it
        refused although that sentence is close to the question: the sentence in the asker's
        language (translated by the generator and checked like any answer), cited to itself."""
        sentence = " ".join(best.chunk.text.split())
        if best.chunk.lang != lang:
            sentence = "".join(self.generator.stream(translation_request(sentence, lang),
                                                     self.cfg.max_tokens, 0.0)).strip()
        answer = self._verify(question, lang, f"{sentence} [1]", [best], index)
        if answer.abstained:
            return abstained
        answer.notes = abstained.notes + ["answered from the best evidence sentence"] + answer.notes
        answer.removed = abstained.removed + answer.removed
        answer.from_evidence = True
        return answer

    def answer(self, question: str, history: list[dict] | None = None) -> Answer:
        result = None
        for item in self.stream(question, history):
            result = item
        assert isinstance(result, Answer)
        return result


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
        return _default


def answer(question: str, history: list[dict] | None = None) -> Answer:
    """Answer a question about the articles (models load once per process, then are reused)."""
    clean_question(question)  # fail fast, before any model loads
    clean_history(history)
    return default_assistant().answer(question, history)
