"""Embeddings: a small protocol and one factory.

The default embedder is EmbeddingGemma-300M through sentence-transformers, with its own
"query"/"document" prompts. Vectors are L2-normalised float32, so inner product = cosine.
"""

from __future__ import annotations

import functools
import threading
from typing import Protocol

import numpy as np

from .config import Config
from .models import model_fingerprint, resolve


class Embedder(Protocol):
    fingerprint: str  # identity of the model (sha256 for registry models)
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    def __init__(self, path: str, fingerprint: str, threads: int = 2, batch_size: int = 16):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        self._model = SentenceTransformer(path, device="cpu")
        self._prompts = set((self._model.prompts or {}).keys())
        self._lock = threading.Lock()  # one forward pass at a time: torch already uses every core
        self.fingerprint = fingerprint
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.batch_size = batch_size

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs = {"prompt_name": prompt} if prompt in self._prompts else {}
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False, **kwargs,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "document")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")


_cache_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load(path: str, fingerprint: str, threads: int) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(path, fingerprint, threads)


def make_embedder(cfg: Config) -> Embedder:
    """The configured embedder, loaded once per process."""
    with _cache_lock:
        path = resolve(cfg.embed_model, cfg.models_dir)
        return _load(path, model_fingerprint(cfg.embed_model, cfg.models_dir), cfg.threads)
