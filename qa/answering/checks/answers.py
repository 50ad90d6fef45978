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
