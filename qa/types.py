"""The typed records that flow through the pipeline: Document → Chunk → Passage → Citation → Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Reason(str, Enum):
    """Why verification removed a sentence, or why an answer abstained (typed, so the evaluation
    and the UI read codes, not note text)."""

    # a removed sentence
    NUMBER_NOT_IN_SOURCES = "number_not_in_sources"
    NUMBER_WITHOUT_ITS_NAME = "number_without_its_name"
    SAYS_SOURCES_DO_NOT_ANSWER = "says_sources_do_not_answer"
    MARKER_AS_CONTENT = "marker_as_content"
    NAME_NOT_IN_SOURCES = "name_not_in_sources"
    ADDS_NOTHING = "adds_nothing"
    WRONG_KIND = "wrong_kind"  # the question asks for a time or a count; the sentence gives none
    WRONG_SCRIPT = "wrong_script"
    FOREIGN_WORDS = "foreign_words"
    UNSUPPORTED = "unsupported"
    DOES_NOT_ANSWER = "does_not_answer"  # the cited passage, judged alone, does not answer the question
    NO_CITATION = "no_citation"
    # an abstention
    NOT_RELEVANT = "not_relevant"  # nothing in the articles is close to the question
    NOT_STATED = "not_stated"  # the articles are about it, but no evidence sentence states the asked value
    MODEL_REFUSED = "model_refused"
    NOTHING_SUPPORTED = "nothing_supported"


@dataclass(frozen=True)
class Removal:
    """A sentence of the generated answer that verification removed."""

    text: str
    reason: Reason
    detail: str = ""  # human-readable, e.g. "number not in the passages: 2021"

    def to_dict(self) -> dict:
        return {"text": self.text, "reason": self.reason.value, "detail": self.detail}


@dataclass(frozen=True)
class Document:
    id: str  # file stem, e.g. "002_fd11f6bd83abf008"
    path: str
    text: str  # the file's full text, unchanged (offsets point into it)
    lang: str  # ISO 639-1
    title: str
    date: str | None
    spans: tuple[tuple[int, int], ...]  # article text kept after boilerplate removal
    sha256: str
    # the file an added article came from ("report.pdf") and its type ("txt", "md", "html", "pdf",
    # "docx"; qa.text.formats); empty for seed articles and for indexes made before they were recorded
    source: str = ""
    source_type: str = ""


@dataclass(frozen=True)
class DocumentInfo:
    """An indexed article as lists of articles show it (no text): what Store.documents() gives."""

    id: str
    title: str
    date: str | None
    lang: str
    chunks: int  # how many retrieval passages it has


@dataclass(frozen=True)
class Chunk:
    id: str  # "<doc_id>#<n>"
    doc_id: str
    lang: str
    start: int  # offsets into Document.text
    end: int
    text: str  # == Document.text[start:end]
    sentences: tuple[tuple[int, int], ...]  # absolute offsets of its sentences


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused and dense scores."""

    chunk: Chunk
    score: float  # fused score
    dense: float  # cosine of the query with the chunk (−1 when not scored densely)

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    def to_dict(self) -> dict:
        return {
            "doc_id": self.chunk.doc_id,
            "chunk_id": self.chunk.id,
            "text": self.chunk.text,
            "lang": self.chunk.lang,
            "score": round(self.score, 6),
            "dense": round(self.dense, 6),
        }


@dataclass(frozen=True)
class Evidence:
    """What one question is answered from (qa.evidence): the retrieved passages, the numbered
    units the generator is given, and the single closest sentence (the answer of last resort)."""

    retrieved: list[Passage]  # chunks, rank order
    given: list[Passage]  # what the prompt numbers [1]..[n]: sentences, or chunks (`passages` config)
    best: Passage | None  # the sentence closest to the question
    relevance: float  # cosine of the best chunk: below the calibrated minimum → abstain


@dataclass(frozen=True)
class Citation:
    n: int  # the marker number as shown in Answer.text
    doc_id: str
    chunk_id: str
    quote: str  # the cited source text, original language (== seed_text[start:end])
    lang: str
    start: int
    end: int
    title: str = ""
    support: float = 0.0  # how well the cited passage supports the sentence(s) citing it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """The assistant's answer to one question: built once, at the end of qa.answering."""

    question: str
    text: str
    citations: list[Citation]
    sources: list[Passage]
    abstained: bool
    lang: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what verification removed or repaired, as text
    removed: list[Removal] = field(default_factory=list)
    abstain_reason: Reason | None = None
    from_evidence: bool = False  # written from the best evidence sentence (the model's answer failed)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "text": self.text,
            "lang": self.lang,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "sources": [p.to_dict() for p in self.sources],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notes": list(self.notes),
            "removed": [r.to_dict() for r in self.removed],
            "abstain_reason": self.abstain_reason.value if self.abstain_reason else None,
            "from_evidence": self.from_evidence,
        }


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer as it is generated (stream event)."""

    text: str


@dataclass(frozen=True)
class SourcesFound:
    """What the answer will be written from, known right after retrieval (stream event, first)."""

    passages: list[Passage]


# Assistant.stream yields SourcesFound, then TextDelta*, then the Answer (always last).
StreamEvent = SourcesFound | TextDelta | Answer
