"""Stage 3, draft: the generator's answer to the question from the evidence, streamed.

The first characters are held back until a refusal (NOT_FOUND) is ruled out, so a refusal is
never shown as an answer. A draft in another language than the question's, or with words of
another language in it, is rewritten (when verification is on): the model is asked once to
rewrite it; a sentence that still carries words of another language is then translated on its
own (a one-sentence translation kept the facts where the rewrite left German words in).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

from qa.answering import refusal
from qa.answering.prompts import rewrite_request, translation_request
from qa.answering.timings import Timings
from qa.config import DraftSettings
from qa.models.generator import Generator
from qa.text.chunking import split_sentences
from qa.text.lang import detect, foreign_words
from qa.text.markers import markers, strip_markers
from qa.text.repetition import loop_start
from qa.text.scripts import joiner
from qa.types import TextDelta


class Drafter:
    def __init__(self, generator: Generator, settings: DraftSettings):
        self.generator, self.settings = generator, settings

    def complete(self, messages: list[dict], temperature: float | None = None) -> str:
        """The generator's whole reply to `messages` (not streamed)."""
        t = self.settings.temperature if temperature is None else temperature
        return self.unlooped("".join(self.generate(messages, t)))

    def generate(self, messages: list[dict], temperature: float) -> Iterator[str]:
        """The generator's reply, piece by piece, until it starts repeating itself
        (DraftSettings.loop_chars): then the model is stopped."""
        text = ""
        with closing(self.generator.stream(messages, self.settings.max_tokens, temperature)) as pieces:
            for piece in pieces:
                text += piece
                yield piece
                if loop_start(text, self.settings.loop_chars) is not None:
                    return

    def unlooped(self, text: str) -> str:
        """The reply without the repeats of a loop it ended in (the first copy kept)."""
        start = loop_start(text, self.settings.loop_chars)
        return text if start is None else text[:start]

    def stream(self, messages: list[dict], timings: Timings) -> Iterator[TextDelta]:
        """Yield the reply as it is generated (what may be shown); return the whole reply, a
        loop's repeats left out."""
        raw: list[str] = []
        held: str | None = ""
        for delta in self.generate(messages, self.settings.temperature):
            timings.first_token()
            raw.append(delta)
            if held is None:
                yield TextDelta(delta)
                continue
            held += delta
            if not refusal.may_be_refusal(held) and not refusal.is_refusal(held):
                yield TextDelta(held)
                held = None
        return self.unlooped("".join(raw))

    def in_language(self, draft: str, messages: list[dict], lang: str, question: str) -> str:
        """The draft in the question's language: rewritten once, then any sentence that still
        carries words of another language translated on its own."""
        text = self.complete(rewrite_request(messages, draft, lang))
        pieces = []
        for s, e in split_sentences(text, 0, len(text), lang):
            piece = text[s:e]
            plain = strip_markers(piece)
            if plain and foreign_words(plain, lang, question):
                translated = self.complete(translation_request(plain, lang), 0.0).strip()
                piece = f"{translated} {''.join(markers(piece))}".strip()
            pieces.append(piece)
        return joiner(lang).join(pieces)


def wrong_language(draft: str, lang: str, question: str = "") -> bool:
    """The draft, or words inside it, are in another language than the question's."""
    plain = strip_markers(draft)
    if refusal.is_refusal(draft):
        return False
    if foreign_words(plain, lang, question):
        return True
    return sum(ch.isalpha() for ch in plain) >= 20 and detect(plain) != lang
