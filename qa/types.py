"""The typed records that flow through the pipeline: Document → Chunk → Passage → Citation → Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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


@dataclass(frozen=True)
class Chunk:
    id: str  # "<doc_id>#<n>"
    doc_id: str
    lang: str
    start: int  # offsets into Document.text
    end: int
    text: str  # == Document.text[start:end]
    sentences: tuple[tuple[int, int], ...]  # absolute offsets of its sentences


@dataclass
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


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    sources: list[Passage]
    abstained: bool
    lang: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what verification removed or repaired

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
        }
