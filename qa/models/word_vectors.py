"""Document vectors of single words, each embedded once per embedder and process.

The `names` check (qa.answering.checks.names) compares a name the answer writes with every word
of the passages the model was given, and for Chinese with every 2–4 character window of them:
several hundred words a draft. Embedded afresh each time, that was 5.6 s a sentence on 2 cores
(17 s for one sentence checked again clause by clause), while the same passages come back
question after question. A word's vector depends on the word alone (what its batch holds moves
it by less than 1e-7 in the ONNX embedder, the default; in the last digits in the torch one), so
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
    distinct = list(dict.fromkeys(words))
    with _lock:
        cache = _caches.setdefault(embedder, OrderedDict())
        vectors = {w: cache[w] for w in distinct if w in cache}
        for word in vectors:
            cache.move_to_end(word)
    missing = [w for w in distinct if w not in vectors]
    if missing:  # embedded outside the lock; another thread's eviction cannot take them away
        fresh = dict(zip(missing, embedder.embed_documents(missing)))
        vectors.update(fresh)
        with _lock:
            cache.update(fresh)
            while len(cache) > MAX_WORDS:
                cache.popitem(last=False)
    return np.stack([vectors[w] for w in words]) if words else np.zeros((0, 0), dtype=np.float32)
