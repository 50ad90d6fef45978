"""What a caller sends, checked before any model loads: the question and the earlier turns."""

from __future__ import annotations

import re
import unicodedata

from qa.config import MAX_QUESTION_CHARS


def clean_question(question) -> str:
    """The question with control characters removed; ValueError saying what is wrong."""
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, not {type(question).__name__}")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    cleaned = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in question)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise ValueError(
            "the question is empty" if not question.strip() else "the question contains only control characters"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise ValueError("the question has no words in it (only symbols or emoji); please ask in words")
    return cleaned


def clean_history(history) -> list[dict]:
    """Earlier turns as [{"role": "user"|"assistant", "content": str}]; ValueError otherwise."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise ValueError("history must be a list of {'role': ..., 'content': ...} turns")
    turns = []
    for turn in history:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise ValueError("each history turn must be {'role': 'user' or 'assistant', 'content': text}")
        turns.append({"role": turn["role"], "content": turn["content"]})
    return turns
