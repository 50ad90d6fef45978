"""Document vectors of single words, each embedded once per embedder and process.

The `names` check (qa.answering.checks.names) compares a name the answer writes with every word
of the passages the model was given, and for Chinese with every 2–4 character window of them:
several hundred words a draft. Embedded afresh each time, that was 5.6 s a sentence on 2 cores
(17 s for one sentence checked again clause by clause), while the same passages come back
question after question. A word's vector depends on the word alone (the ONNX embedder, the
default, embeds one text at a time; the torch one pads a batch, which moves the last digits), so
a cached vector is the vector.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np

# At most this many words per embedder (~3 KB each at 768 dimensions: ~60 MB). The five seed
# articles have ~5,900 distinct words and Chinese windows, of which a question's passages hold a
# few hundred; beyond the limit the least recently used go first.
MAX_WORDS = 20_000

_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def document_vectors(embedder, words: list[str]) -> np.ndarray:
    """The embedder's document vectors of `words` (rows in order), embedding only those it has
    not embedded before."""
    with _lock:
        cache = _caches.setdefault(embedder, OrderedDict())
        missing = [w for w in dict.fromkeys(words) if w not in cache]
    fresh = embedder.embed_documents(missing) if missing else None
    with _lock:
        for i, word in enumerate(missing):
            cache[word] = fresh[i]
        rows = []
        for word in words:
            cache.move_to_end(word)
            rows.append(cache[word])
        while len(cache) > MAX_WORDS:
            cache.popitem(last=False)
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
