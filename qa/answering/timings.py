"""Seconds per stage of one answer (Answer.timings), summed over the parts of a question."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Timings:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def add(self, key: str, seconds: float) -> None:
        self.seconds[key] = self.seconds.get(key, 0.0) + seconds

    @contextmanager
    def stage(self, key: str) -> Iterator[None]:
        """Time a block as (part of) stage `key`."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.add(key, time.perf_counter() - t)

    def first_token(self) -> None:
        """The answer's first token is here (time to first token counts from the start)."""
        self.seconds.setdefault("ttft", time.perf_counter() - self.started)

    def restart(self) -> None:
        """Count from now (after the models loaded: loading is not part of any stage)."""
        self.started = time.perf_counter()

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": time.perf_counter() - self.started}
