"""Embeddings: a small protocol and one factory.

The default embedder is EmbeddingGemma-300M through sentence-transformers, with its own
"query"/"document" prompts. Vectors are L2-normalised float32, so inner product = cosine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.config import Config
from qa.models import onnx_embedder as onnx_embed
from qa.models.hash_embedder import HashEmbedder
from qa.models.onnx_embedder import OnnxEmbedder
from qa.models.weights import model_fingerprint, resolve

# EmbeddingGemma's activations overflow in float16; bfloat16 keeps float32's range at half the
# memory, and CPUs with AVX512-BF16/AMX run it faster.
DTYPES = ("float32", "bfloat16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags Linux reports (empty where /proc/cpuinfo is unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")) and ":" in line:
            return set(line.split(":", 1)[1].split())
    return set()


def choose_dtype(flags: set[str]) -> str:
    """bfloat16 only where the CPU computes it natively (AVX512-BF16 or AMX-BF16): there it was
    2.7× faster than float32 (AMD EPYC with avx512_bf16). Without them bf16 is emulated and
    was 6× slower than float32 (AMD EPYC, AVX2 only: 32 passages 31.8 s vs 5.5 s)."""
    return "bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"


class Embedder(Protocol):
    fingerprint: str  # identity of the model (sha256 for registry models)
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    def __init__(self, path: str, fingerprint: str, threads: int = 2, batch_size: int = 16, dtype: str = "float32"):
        import torch  # heavy: imported where needed (the ONNX path runs without torch)
        from sentence_transformers import (
            SentenceTransformer,
        )  # heavy: imported where needed (the ONNX path runs without torch)

        torch.set_num_threads(max(1, threads))
        if dtype not in DTYPES:
            raise ValueError(f"embedding dtype {dtype!r} is not supported; choose one of: {', '.join(DTYPES)}")
        self._model = SentenceTransformer(path, device="cpu", model_kwargs={"dtype": getattr(torch, dtype)})
        self._prompts = set((self._model.prompts or {}).keys())
        self._lock = threading.Lock()  # one forward pass at a time: torch already uses every core
        # vectors from another precision are not interchangeable bit for bit: keep them apart
        self.fingerprint = fingerprint if dtype == "float32" else f"{fingerprint}:{dtype}"
        self.dtype = dtype  # shown by `qa bench` and the UI status line
        self.runtime = "torch"
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension())
        self.batch_size = batch_size

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs = {"prompt_name": prompt} if prompt in self._prompts else {}
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
                **kwargs,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "document")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")


def converted_copy(path: str, fingerprint: str, dtype: str, models_dir: Path) -> str:
    """A copy of the model saved in `dtype`, made once next to the verified original.

    Converting float32 weights while loading holds both copies at once (peak 2.2 GB for
    EmbeddingGemma, 1.2 GB still resident afterwards); loading weights already stored in
    bfloat16 peaks at 1.0 GB and takes 4 s. The copy records the fingerprint of its source
    and is rebuilt when that changes."""
    import torch  # heavy: imported where needed (the ONNX path runs without torch)
    from sentence_transformers import (
        SentenceTransformer,
    )  # heavy: imported where needed (the ONNX path runs without torch)

    key = hashlib.sha256(f"{fingerprint}\n{path}".encode()).hexdigest()[:16]
    target = Path(models_dir) / "converted" / f"{Path(path).name or 'model'}-{dtype}-{key}"
    stamp = target / "QA_CONVERTED.json"
    record = {"source": path, "fingerprint": fingerprint, "dtype": dtype}
    try:
        if json.loads(stamp.read_text()) == record:
            return str(target)
    except (OSError, ValueError):
        pass
    print(f"[qa] saving a {dtype} copy of the embedding model (once) to {target}", file=sys.stderr, flush=True)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model = SentenceTransformer(path, device="cpu", model_kwargs={"dtype": getattr(torch, dtype)})
    model.save(str(tmp))
    del model
    (tmp / stamp.name).write_text(json.dumps(record))
    shutil.rmtree(target, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:  # another process finished the same copy first
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


_cache_lock = threading.Lock()


RUNTIMES = ("onnx", "torch")


@functools.lru_cache(maxsize=4)
def _load(path: str, fingerprint: str, threads: int, dtype: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(path, fingerprint, threads, dtype=dtype)


@functools.lru_cache(maxsize=4)
def _load_onnx(target: str, fingerprint: str, threads: int):
    return OnnxEmbedder(Path(target), fingerprint, threads)


def choose_runtime(requested: str | None, record: dict | None) -> tuple[str, str]:
    """(runtime, reason). onnx when the export exists and passed its check against torch float32,
    unless torch was asked for; torch otherwise, with the reason."""
    if requested not in (None, *RUNTIMES):
        raise ValueError(f"QA_EMBED_RUNTIME={requested!r} is not supported; choose one of: {', '.join(RUNTIMES)}")
    if requested == "torch":
        return "torch", "asked for (QA_EMBED_RUNTIME=torch)"
    if record is None:
        return "torch", "no ONNX export of this model"
    if not record.get("ok"):
        why = record.get("error") or (
            f"its cosine to torch float32 was {record.get('min_cosine', 0):.4f}, below {record.get('threshold')}"
        )
        return "torch", f"the ONNX export failed its check ({why})"
    return "onnx", f"export verified (min cosine {record['min_cosine']:.5f} to torch float32)"


def _onnx_record(path: str, fingerprint: str, cfg: Config) -> tuple[Path, dict | None]:
    """The export's folder and check record, exporting first where there is none yet."""
    target = onnx_embed.export_dir(cfg.paths.models_dir, path, fingerprint)
    record = onnx_embed.read_record(target)
    if record is None and Path(path).is_dir():
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return target, {"ok": False, "error": "onnxruntime is not installed (pip install onnxruntime)"}
        record = onnx_embed.export(path, fingerprint, target, cfg.runtime.threads)
    return target, record


def make_embedder(cfg: Config) -> Embedder:
    """The configured embedder, loaded once per process: the verified ONNX export where there is
    one (made at first use), PyTorch otherwise (EmbedderSettings.runtime overrides the choice)."""
    if cfg.embedder.model == "test-hash":  # tests only: see qa.hash_embedder
        return HashEmbedder()
    with _cache_lock:
        path = resolve(cfg.embedder.model, cfg.paths.models_dir)
        fingerprint = model_fingerprint(cfg.embedder.model, cfg.paths.models_dir)
        choose_runtime(cfg.embedder.runtime, None)  # an unknown runtime fails before any work
        if cfg.embedder.runtime == "onnx" and cfg.embedder.dtype not in (None, "float32"):
            raise ValueError(
                f"the ONNX export is float32: QA_EMBED_RUNTIME=onnx with QA_EMBED_DTYPE="
                f"{cfg.embedder.dtype} is not supported (unset one of them)"
            )
        if cfg.embedder.runtime != "torch" and cfg.embedder.dtype in (None, "float32"):
            target, record = _onnx_record(path, fingerprint, cfg)
            runtime, reason = choose_runtime(cfg.embedder.runtime, record)
            if runtime == "onnx":
                return _load_onnx(str(target), fingerprint, cfg.runtime.threads)
            print(f"[qa] embedding with torch: {reason}", file=sys.stderr, flush=True)
        dtype = cfg.embedder.dtype or choose_dtype(cpu_flags())
        if dtype not in DTYPES:
            raise ValueError(f"QA_EMBED_DTYPE={dtype!r} is not supported; choose one of: {', '.join(DTYPES)}")
        if dtype != "float32" and Path(path).is_dir():
            path = converted_copy(path, fingerprint, dtype, cfg.paths.models_dir)
        return _load(path, fingerprint, cfg.runtime.threads, dtype)
