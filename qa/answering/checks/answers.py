"""Check `answers`: a passage the sentence cites answers the question, in the generator's own
judgement of that passage alone (qa.answering.judge).

This is the check of what a value is bound to: "Acme invested 40 million euros in the start-up"
cited for how much the start-up's founder earns passes every string check (the number is in the
passage, the names are too), but asked on its own whether that sentence answers the question,
the model says no. It runs last, so only sentences that passed every other check cost a call,
and each cited passage is asked once per answer.

Measured and not built: binding by clauses instead of the model. A new name of the answer and
a name of the question that the cited sentence both states must stand in one clause of it (cut
at commas, semicolons, colons and "while"/"and" words of the four languages). Replayed on dev's
stored answers (175 items), it flags 2 of the 4 answered unanswerable questions ("Who founded
X?" answered with the founder of the company named in the clause before) and 16 right answers:
appositions ("den CEO von SSI, Daniel Gross, sowie …") and lists put a name in a clause of its own.

Nor (dev, 2026-12-07, replayed on 222 (question, given sentence) pairs of dev's single-part
questions: 58 gold sentences of answerable ones, 164 sentences given for unanswerable ones; this
judge's AUC 0.912 on them):
- the judge shown four worked examples first (invented companies and people: a salary asked, a
  plant's cost stated; a CEO asked of the investor, the investee's CEO stated; two that answer,
  one across languages): AUC 0.908, and it says no more often to both (at 0.6, 9 gold sentences
  refused instead of 4, 28 unanswerable ones kept instead of 41); 0.84 s a call instead of 0.63;
- the question's predicate matched without its names and numbers (both texts embedded with the
  names and numbers cut out, so "How much does X earn at Y?" meets "Y invested N in Z" as "How
  much does earn at?" and "invested in"): AUC 0.837, the plain cosine 0.847; the judge plus
  0.5 x the plain cosine 0.921, within a pair or two of the judge alone.
"""

from __future__ import annotations

from qa.answering.checks.base import Context, Problem, State, Subject
from qa.types import Reason


class AnswersCheck:
    name = "answers"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        if ctx.judge is None or not state.cite:
            return state
        said = [p for n in state.cite if (p := ctx.judge(ctx.passages[n - 1])) is not None]
        if not said or max(said) >= ctx.settings.answers_yes:
            return state
        return Problem(
            Reason.DOES_NOT_ANSWER,
            f"the cited passage does not answer the question (the model says yes with {max(said):.2f})",
        )
