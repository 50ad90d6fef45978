"""Check `kind`: a sentence answering a question that asks for one kind of value states a value
of that kind (qa.text.asked).

Asked when something happened, a sentence that places nothing in time does not answer, however
well its passage supports it ("X hired Y for 40 million dollars" for "When did X hire Y?").
Asked in which year, month or day, a sentence that names no date or calendar unit does not
answer either: "since its founding" places something in time, but only after the asked event.
Asked how many people or things, a sentence whose only numbers are amounts of money gives a
neighbouring fact, not the count ("12 billion dollars" for how many people work in a lab).
Both are the shape of a confident answer to a question the passages do not answer: the judge
(qa.answering.judge) reads the passage, not the answer, and lets them through when the passage
is about the asked thing.

Measured: on dev (175 items) it refused two unanswerable questions that had been answered (a
count answered with an amount of money, a "when" with a price) and changed no other answer:
unanswerable refused or gap named 0.909 -> 0.939. On test (163 items) it changed no answer.
Its word lists lean towards keeping: a review tried about 130 short right answers in the four
languages ("Danach.", "两天前。", "بعدما غادرت", "Am 19.08.2024.", "In Q3.") and the words they
were missing were added; a sentence is removed only when nothing in it refers to time at all.

Measured and not built: the asked event's date, not another's. A cited sentence can date two
events ("returned in 2022, left in February 2024") and the answer take the wrong one. Binding
the answer's year to the clause of the cited sentence closest to the question (embedder cosine):
on dev, two answered sentences cite a sentence with two dated clauses; for one the closest clause
is the asked one (0.52 vs 0.20, a wrong answer caught), for the other ("verlassen") the other
one (0.31 vs 0.29, a right answer lost). Short clauses carry too little to tell the verbs apart.
"""

from __future__ import annotations

from qa.answering.checks.base import Context, Problem, State, Subject
from qa.answering.checks.numbers import claimed_numbers
from qa.text.asked import Kind, only_money, states_date, states_time
from qa.types import Reason


class KindCheck:
    name = "kind"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        text = subject.claim.text
        if ctx.asked is Kind.TIME and not states_time(text):
            return Problem(Reason.WRONG_KIND, "the question asks when; the sentence places nothing in time")
        if ctx.asked is Kind.DATE and not states_date(text):
            return Problem(Reason.WRONG_KIND, "the question asks for a year, month or day; the sentence names none")
        if ctx.asked is Kind.COUNT and only_money(text, claimed_numbers(text, ctx), ctx.lang):
            return Problem(Reason.WRONG_KIND, "the question asks how many; the sentence gives an amount of money")
        return state
