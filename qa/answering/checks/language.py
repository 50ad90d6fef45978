"""Checks that a sentence is written in the asker's language, as the model wrote it:

- `script`: an answer in a language with a script of its own (Chinese, Arabic, …) must use it;
  a sentence that is nothing but names of the passages or the question passes in any script;
- `foreign_words`: no words of another language inside the sentence (names aside;
  qa.text.lang.foreign_words).
"""

from __future__ import annotations

from qa.answering.checks.base import Context, Problem, State, Subject
from qa.text.lang import foreign_words
from qa.text.names import only_names
from qa.text.scripts import has_own_script, in_script_of
from qa.types import Reason


class ScriptCheck:
    name = "script"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        written = subject.claim.as_written
        if has_own_script(ctx.lang) and not in_script_of(written, ctx.lang) and not only_names(written, ctx.haystack):
            return Problem(Reason.WRONG_SCRIPT, "sentence is not in the question's language")
        return state


class ForeignWordsCheck:
    name = "foreign_words"

    def __call__(self, subject: Subject, ctx: Context, state: State) -> State | Problem:
        if foreign := foreign_words(subject.claim.as_written, ctx.lang, ctx.question):
            return Problem(Reason.FOREIGN_WORDS, f"words of another language: {', '.join(foreign[:5])}")
        return state
