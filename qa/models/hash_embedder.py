"""A tiny deterministic embedder for tests (QA_EMBED_MODEL=test-hash): hashed character trigrams.

It lets tests that start `qa` processes (bulk ingestion, two processes on one store) check index
bookkeeping without loading the real model. It is never used to judge retrieval or answers.
"""

from __future__ import annotations

import hashlib

import numpy as np

NAME = "test-hash"


class HashEmbedder:
    """A tiny deterministic embedder (hashed character trigrams) for tests of index bookkeeping:
    persistence, staleness, checksums. It is never used to judge retrieval or answers."""

    def __init__(self, fingerprint: str = "test-hash-embedder-v1", dim: int = 32):
        self.fingerprint = fingerprint
        self.dim = dim
        self.calls = 0  # texts embedded so far

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for i in range(max(1, len(text) - 2)):
                digest = hashlib.blake2b(f"{self.fingerprint}|{text[i : i + 3]}".encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
        return out

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)
