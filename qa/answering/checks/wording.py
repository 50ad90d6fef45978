"""Checks of what a sentence is, rather than what it claims:

- `says_nothing`: a sentence that says the sources do not answer ("The articles do not say …",
  "… is not found [1]") is a refusal, not a claim, even with a citation;
- `marker_as_content`: a citation marker stands where the answer's content belongs ("… targeted
  [1] and [2].", "the number is [1].");
- `adds_nothing`: a sentence with no number and no content word that the question does not
  already have (in any inflection: "it happened in the field" for "in which field did it
  happen?") only restates the question.

A draft whose only sentences are content-free is refused, not retried: on dev, 7 of the 9 drafts
that these two checks emptied were answers to unanswerable questions ("The CEO of X is [1]."), so
an empty slot is the model's own sign that the passages do not hold the value.
"""

from __future__ import annotations

from qa.answering.checks.base import Context, Problem, State, Subject
from qa.answering.checks.numbers import claimed_numbers
from qa.answering.refusal import says_nothing
from qa.text.lexical import new_words
from qa.types import Reason


class SaysNothingCheck:
    name = "says_nothing"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        if says_nothing(subject.claim.text):
            return Problem(Reason.SAYS_SOURCES_DO_NOT_ANSWER, "says the sources do not answer")
        return state


class MarkerAsContentCheck:
    name = "marker_as_content"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        if subject.claim.marker_as_content:
            return Problem(Reason.MARKER_AS_CONTENT, "a citation marker stands in place of the answer")
        return state


class AddsNothingCheck:
    name = "adds_nothing"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        text = subject.claim.text
        if not claimed_numbers(text, ctx) and not new_words(text, ctx.question):
            return Problem(Reason.ADDS_NOTHING, "adds nothing to the question")
        return state
