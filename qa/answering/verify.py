"""Stage 4, check: every sentence of the draft against the passages the model was given.

Each claim is repaired (qa.answering.repair), embedded, and run through the checks in order
(qa.answering.checks); the first problem removes it. A sentence that fails for one wrong word (a
number, a name, a foreign word) is checked again clause by clause, and its clauses that pass
stay ("他是 Alexandr Wang，他38岁" for an age of 28: the name clause is right). A kept sentence
that answers "when" with a bare year is dated from the passage it cites (repair.complete_dates).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from qa.answering import checks
from qa.answering.checks.base import Context, Problem, State, Subject
from qa.answering.checks.support import support
from qa.answering.claims import Claim, clauses
from qa.answering.repair import complete_dates, repair_numbers
from qa.text.asked import Kind
from qa.types import Reason, Removal

# Problems that sit in one word of a sentence: the rest of it may still be a right answer.
_LOCAL_PROBLEMS = frozenset(
    {Reason.NUMBER_NOT_IN_SOURCES, Reason.NUMBER_WITHOUT_ITS_NAME, Reason.NAME_NOT_IN_SOURCES, Reason.FOREIGN_WORDS}
)


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    cite: tuple[int, ...]  # passage numbers (1-based) after repair
    support: float
    problem: Problem | None = None

    @property
    def reason(self) -> Reason | None:
        return self.problem.reason if self.problem else None

    @property
    def detail(self) -> str:
        return self.problem.detail if self.problem else ""

    def removal(self) -> Removal | None:
        """Why this sentence is left out of the answer, or None when it stays."""
        if self.problem:
            return Removal(self.claim.text, self.problem.reason, self.problem.detail)
        if not self.cite:
            return Removal(self.claim.text, Reason.NO_CITATION, "no citation")
        return None


def unchecked(claims: list[Claim]) -> list[Verdict]:
    """Verdicts with verification off: every sentence stays as the model cited it."""
    return [Verdict(claim=c, cite=c.cited, support=0.0) for c in claims]


def verify(claims: list[Claim], ctx: Context, passage_vectors) -> list[Verdict]:
    """Verdicts for each claim; a claim failing for one word may come back as its clauses."""
    verdicts = []
    for v in _verify(claims, ctx, passage_vectors):
        parts = clauses(v.claim.text) if v.problem and v.problem.reason in _LOCAL_PROBLEMS else []
        if len(parts) > 1:
            sub = _verify([Claim(text=t, cited=v.claim.cited) for t in parts], ctx, passage_vectors)
            if any(not s.problem for s in sub):
                verdicts += sub
                continue
        verdicts.append(v)
    return verdicts


def _verify(claims: list[Claim], ctx: Context, passage_vectors) -> list[Verdict]:
    if not claims:
        return []
    off = ctx.settings.off
    if "repair_numbers" not in off:
        claims = [repair_numbers(c, ctx.stated, ctx.question_numbers, ctx.lang) for c in claims]
    sims = ctx.embedder.embed_queries([c.text for c in claims]) @ passage_vectors.T  # claims × passages
    run = checks.enabled(off)
    return [_dated(_run(Subject(claim, sims[i]), ctx, run), ctx) for i, claim in enumerate(claims)]


def _dated(v: Verdict, ctx: Context) -> Verdict:
    """A kept sentence answering "when", its bare years dated from the passages it now cites (the
    checks may have re-cited it to the passage that states its year)."""
    if v.problem or ctx.asked not in (Kind.TIME, Kind.DATE) or "repair_dates" in ctx.settings.off:
        return v
    claim = complete_dates(v.claim, [ctx.passages[n - 1].chunk.text for n in v.cite], ctx.lang)
    return v if claim is v.claim else replace(v, claim=claim)


def _run(subject: Subject, ctx: Context, run) -> Verdict:
    state = State(cite=subject.claim.cited)
    problem = None
    for check in run:
        outcome = check(subject, ctx, state)
        if isinstance(outcome, Problem):
            problem = outcome
            break
        state = outcome
    return Verdict(claim=subject.claim, cite=state.cite, support=support(subject.sims, state.cite), problem=problem)
