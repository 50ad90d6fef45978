"""A text that has started to repeat itself: the greedy decoding of a small model can fall into a
loop ("… مصممة لتحسين مهارات تعلم متن مصممة لتحسين مهارات تعلم متن …", "10000000…") and write
the same words until it runs out of tokens. Read here as a pure function of the text so far, so
the drafter (qa.answering.draft) can stop the model at the third copy and keep the first.
"""

from __future__ import annotations

# Longest repeating unit looked for, in characters: a loop of a whole sentence repeats at most
# a few dozen words, and the check runs on every streamed piece (a few hundred string slices).
MAX_UNIT = 120


def loop_start(text: str, min_span: int, min_copies: int = 3) -> int | None:
    """Where the text's trailing loop begins its second copy, or None when it does not end in
    one. A loop is a unit of 1..MAX_UNIT characters written `min_copies` or more times back to
    back at the end of the text, the copies together at least `min_span` characters long (so
    "1,000,000,000" or "ha ha ha" is no loop, 40 zeros are). ``text[:loop_start(text)]`` keeps
    the first copy."""
    n = len(text)
    for size in range(1, min(MAX_UNIT, n // min_copies) + 1):
        unit = text[n - size :]
        copies = 1
        while copies * size + size <= n and text[n - (copies + 1) * size : n - copies * size] == unit:
            copies += 1
        if copies >= min_copies and copies * size >= min_span:
            return n - (copies - 1) * size
    return None
