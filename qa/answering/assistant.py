"""The assistant: one facade over the answering stages.

    question → find (passages) → evidence → [refusal gate] → draft → check → cite → [fallback] → Answer

Models and the store (qa.store: QA_STORE=faiss or postgres) are loaded once per process and
shared by every thread; everything the assistant reads of the articles goes through the Store
protocol, so both engines answer alike. A question that asks two things (qa.text.question) is
answered part by part (qa.answering.pipeline) and the answers joined (qa.answering.join); with
DraftSettings.whole_first it is asked whole first, part by part only when the whole is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

from qa.answering import checks
from qa.answering.evidence import gather
from qa.answering.find import Found, find
from qa.answering.inputs import clean_history, clean_question
from qa.answering.join import join_answers
from qa.answering.pipeline import Pipeline
from qa.answering.prompts import build_messages
from qa.answering.retrieve import Retriever
from qa.answering.timings import Timings
from qa.config import Config, calibrated, load_config
from qa.models.embedder import make_embedder
from qa.models.generator import make_generator
from qa.store.base import WritableStore
from qa.store.build import ArticleWriter, load_or_build_store, read_upload
from qa.text.lang import detect, preload
from qa.text.question import split_question
from qa.text.scripts import joiner
from qa.types import Answer, Evidence, SourcesFound, StreamEvent, TextDelta


class Assistant:
    def __init__(self, config: Config | None = None, log=None):
        self.cfg = calibrated(config or load_config())
        checks.enabled(self.cfg.checks.off)  # a misspelt check name fails here, not after an answer
        self.log = log
        self._lock = threading.RLock()  # one index change at a time
        self._loading = {name: threading.Lock() for name in ("embedder", "store", "generator")}
        self._store: WritableStore | None = None
        self._embedder = None
        self._generator = None

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

        threads = [
            threading.Thread(target=run, args=(job,), daemon=True, name=f"warm-up-{i}")
            for i, job in enumerate((prime, preload))
        ]
        for thread in threads:
            thread.start()
        run(lambda: self.store)
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def add_document(self, name: str, data: bytes) -> str:
        """Index an uploaded article incrementally and persist it (kept in the uploads folder);
        returns its document id. The one add path of qa.store.build.ArticleWriter; a file that
        cannot be used is refused before the store or the embedder is loaded."""
        upload = read_upload(name, data)
        with self._lock:
            return ArticleWriter(self.store, self.embedder, self.cfg, self.cfg.paths.uploads_dir).add_upload(upload)

    # -- answering ----------------------------------------------------------------------------
    def retrieve(self, question: str, history: list[dict] | None = None, k: int | None = None) -> Found:
        """The passages for a question (top `k`, default the retrieval settings' top_k)."""
        return find(Retriever(self.store, self.embedder, self.cfg.retrieval), question, history, k)

    def select_evidence(self, question: str, history: list[dict] | None = None, lang: str | None = None) -> Evidence:
        """Retrieve, then choose what the generator is given, for a reader of `lang` (default:
        the question's language)."""
        found = self.retrieve(question, history)
        return gather(
            self.store, found, self.cfg.evidence, self.cfg.retrieval.duplicate_cosine, lang or detect(question)
        )

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[StreamEvent]:
        """Yield the sources as soon as they are found (SourcesFound), the answer text as it is
        generated (TextDelta), then the checked Answer (always last)."""
        question, history = clean_question(question), clean_history(history)
        timings = Timings()
        _ = self.store, self.generator  # loaded once per process; not part of the stage times
        preload()  # the language detector's models, once per process
        if (load := timings.total()["total"]) > 0.05:
            timings.seconds["load"] = load
        timings.restart()
        lang = detect(question)
        parts = split_question(question, lang) if self.cfg.draft.split_questions else [question]
        # a question in parts is asked whole first, and part by part only when the whole is refused
        tries = [[question], parts] if len(parts) > 1 and self.cfg.draft.whole_first else [parts]
        with timings.stage("retrieve"):
            evidence = [self.evidence_of(asked, question, history, lang) for asked in tries]
        minimum = self.cfg.retrieval.min_relevance
        shown = {
            p.chunk.id: p for ev in evidence for f in ev for p in (f.given if f.relevance >= minimum else f.retrieved)
        }
        yield SourcesFound(list(shown.values()))
        pipeline = Pipeline(self.cfg, self.store, self.embedder, self.generator)
        for asked, found in zip(tries, evidence):
            # asked whole, it is answered only when the evidence states each of its parts too
            probed = tuple(parts) if asked != parts else ()
            answer = yield from self.answer_parts(pipeline, question, lang, asked, found, history, timings, probed)
            if not answer.abstained:
                break
        yield replace(answer, timings=timings.total())

    def evidence_of(self, parts: list[str], question: str, history: list[dict], lang: str) -> list[Evidence]:
        """The evidence of each part; a later part ("… and how much did they pay for it?") is
        searched together with the whole question."""
        return [
            self.select_evidence(part, history if i == 0 else history + [{"role": "user", "content": question}], lang)
            for i, part in enumerate(parts)
        ]

    def answer_parts(
        self,
        pipeline: Pipeline,
        question: str,
        lang: str,
        parts: list[str],
        founds: list[Evidence],
        history: list[dict],
        timings: Timings,
        probed: tuple[str, ...] = (),
    ) -> Iterator[TextDelta]:
        """Answer the parts in order (each with the exchanges before it), streamed; return the
        one Answer (the parts' answers joined). `probed`: the parts of a question asked whole,
        each of which its evidence must state (Pipeline.answer)."""
        answers: list[Answer] = []
        turns = list(history)
        for part, found in zip(parts, founds):
            if answers:
                yield TextDelta(joiner(lang))
            answer = yield from pipeline.answer(part, lang, found, turns, timings, probed)
            answers.append(answer)
            turns += [{"role": "user", "content": part}, {"role": "assistant", "content": answer.text}]
        return answers[0] if len(answers) == 1 else join_answers(question, lang, parts, answers)

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
