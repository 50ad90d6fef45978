"""The checks of a draft sentence, in the order they run (the first problem removes the sentence).

Each is a small named unit (qa.answering.checks.base.Check); CheckSettings.off switches one off
by name, so `qa eval` can measure what it is worth.
"""

from __future__ import annotations

from qa.answering.checks.answers import AnswersCheck
from qa.answering.checks.base import Check
from qa.answering.checks.kind import KindCheck
from qa.answering.checks.language import ForeignWordsCheck, ScriptCheck
from qa.answering.checks.names import NamesCheck
from qa.answering.checks.numbers import NumbersCheck
from qa.answering.checks.support import SupportCheck
from qa.answering.checks.wording import AddsNothingCheck, MarkerAsContentCheck, SaysNothingCheck

CHECKS: tuple[Check, ...] = (
    NumbersCheck(),
    SaysNothingCheck(),
    MarkerAsContentCheck(),
    NamesCheck(),
    AddsNothingCheck(),
    KindCheck(),
    ScriptCheck(),
    ForeignWordsCheck(),
    SupportCheck(),
    AnswersCheck(),  # last: the one check that asks the model
)
# the steps around the checks that CheckSettings.off can switch off by name too: the rewrite of a
# draft in the wrong language (qa.answering.draft), the number and date repairs (qa.answering.repair), the
# answer from the best evidence sentence (qa.answering.fallback), and the refusal before
# generating when the model's forced choice says no passage answers (qa.answering.probe)
STEPS = ("rewrite_language", "repair_numbers", "repair_dates", "fallback", "probe")
NAMES = tuple(c.name for c in CHECKS) + STEPS


def enabled(off: tuple[str, ...] = ()) -> tuple[Check, ...]:
    """The checks that run when the ones named in `off` are switched off; ValueError for an unknown name."""
    unknown = sorted(set(off) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown check {', '.join(unknown)}; the checks are: {', '.join(NAMES)}")
    return tuple(c for c in CHECKS if c.name not in off)
