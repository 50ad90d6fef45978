"""The embedder as one fused ONNX graph, run by onnxruntime.

Eager PyTorch runs EmbeddingGemma as ~4,000 small ops per forward; onnxruntime fuses them.
Measured on AMD EPYC (2 cores, load average ~5 from other jobs): a short query took 185 ms
p50 in onnxruntime against 1,065 ms (torch float32) and 592 ms (torch bfloat16) in the same minutes.

The whole sentence-transformers pipeline (Transformer → mean Pooling → Dense → Dense → Normalize)
is exported once, at first use, with torch.onnx's dynamo exporter (the TorchScript exporter fails
on transformers' vmap-built attention mask: "unordered_map::at"), into
``<models_dir>/onnx/<name>-<fingerprint>/``, beside the model and never into the repository. It is
written to a temporary folder, checked against PyTorch float32 on a multilingual sample and renamed
into place with a record of that check (VERIFIED.json). A failed check is recorded too, so the
export is not retried on every start; the caller then falls back to torch and says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

# cosine to PyTorch float32 that every sample sentence must reach before the export is used
MIN_COSINE = 0.999
RECORD = "VERIFIED.json"
GRAPH = "model.onnx"
# Texts of at most SHORT_CHARS characters go SHORT_BATCH at a time (longer ones one at a time,
# below): the names check embeds every word of its passages (qa.models.word_vectors), and the 447
# words and Chinese windows of two seed passages took 12.0 s one by one and 6.9 s in eights (6.8
# in 32s), the vectors within 1e-7 of each other.
SHORT_CHARS = 24
SHORT_BATCH = 8

# the fixed multilingual check at export time: (prompt name, text)
SAMPLE = (
    ("query", "How many households can the new solar park supply?"),
    ("document", "The central bank raised its key interest rate by a quarter point on Thursday."),
    ("query", "Wann wurde die neue Brücke über den Fluss eröffnet?"),
    ("document", "Die Stadtwerke planen bis 2028 zwei weitere Anlagen und einen Batteriespeicher."),
    ("query", "这座城市去年的人口增长了多少？"),
    ("document", "该公司第三季度的营业收入同比增长百分之十二。"),
    ("query", "كم عدد السياح الذين زاروا المدينة العام الماضي؟"),
    ("document", "أعلنت الحكومة عن خطة جديدة لبناء ثلاث محطات لتحلية المياه."),
)


def export_dir(models_dir: Path, path: str, fingerprint: str) -> Path:
    """Where the export of the model at `path` with `fingerprint` lives: a changed model
    (another fingerprint) gets another folder, so it is exported anew."""
    key = hashlib.sha256(f"{fingerprint}\n{path}".encode()).hexdigest()[:16]
    return Path(models_dir) / "onnx" / f"{Path(path).name or 'model'}-{key}"


def read_record(target: Path) -> dict | None:
    try:
        return json.loads((target / RECORD).read_text())
    except (OSError, ValueError):
        return None


def _session(graph: Path, threads: int):
    import onnxruntime as ort  # heavy: only the ONNX runtime needs it

    options = ort.SessionOptions()
    # 2 cores: one op at a time, each op on every core; more threads only contend
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """The `Embedder` protocol over an exported graph. Tokenisation uses the model's own
    tokenizer.json through `tokenizers` (bos … eos, as sentence-transformers adds them), and the
    model's own "query"/"document" prompts are prepended exactly as sentence-transformers does
    (pooling includes the prompt tokens: include_prompt=true)."""

    runtime = "onnx"
    dtype = "float32"

    # Documents go one at a time (short texts aside, above): no padding, and onnxruntime gains nothing from batches here
    # (96 seed paragraphs, 2 cores: 8.6 s at batch 1, 9.2 s at 2, 9.4 s at 4, 11.6 s at 16, 15.5 s at 32).
    def __init__(self, target: Path, fingerprint: str, threads: int = 2, batch_size: int = 1):
        meta = json.loads((target / "export.json").read_text())
        self._prompts = meta["prompts"]
        # one after the other: building the session in a thread beside the tokenizer parse was
        # slower (2 cores under load: 9.4–11.5 s in parallel vs 8.3–9.3 s in turn, 3 runs each)
        self._tokenizer = Tokenizer.from_file(str(target / "tokenizer.json"))
        self._session = _session(target / GRAPH, threads)
        self._tokenizer.enable_truncation(int(meta["max_seq_length"]))
        self._pad = int(meta["pad_token_id"])
        self._lock = threading.Lock()
        self.fingerprint = f"{fingerprint}:onnx"  # vectors differ from torch's in the last digits
        self.dim = int(meta["dim"])
        self.batch_size = batch_size

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encoded)
        ids = np.full((len(texts), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encoded):  # right padding, as sentence-transformers pads
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        with self._lock:
            return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        prefix = self._prompts.get(prompt, "")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths: less padding
        start = 0
        while start < len(order):
            size = SHORT_BATCH if len(texts[order[start]]) <= SHORT_CHARS else self.batch_size
            rows = order[start : start + size]
            out[rows] = self._batch([prefix + texts[i] for i in rows])
            start += size
        return out

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "document")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "query")


def _pipeline(model):
    """The sentence-transformers model as a module of two tensors → normalised embeddings."""
    import torch  # heavy: imported where needed (the ONNX path runs without torch)

    class Pipeline(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    return Pipeline().eval()


def _export_graph(model, folder: Path) -> None:
    import torch  # heavy: imported where needed (the ONNX path runs without torch)
    from torch.export import Dim  # heavy: imported where needed (the ONNX path runs without torch)

    tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
    sample = tokenize(["task: search result | query: a short one", "title: none | text: a longer text here"])
    batch, seq = Dim("batch"), Dim("sequence")
    with torch.no_grad():
        torch.onnx.export(
            _pipeline(model),
            (sample["input_ids"], sample["attention_mask"]),
            str(folder / GRAPH),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
            dynamo=True,
            external_data=True,
            verbose=False,
        )


def _write_meta(model, path: str, folder: Path) -> None:
    shutil.copy2(Path(path) / "tokenizer.json", folder / "tokenizer.json")
    meta = {
        "prompts": dict(model.prompts or {}),
        "max_seq_length": int(model.max_seq_length),
        "pad_token_id": int(model.tokenizer.pad_token_id or 0),
        "dim": int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()),
    }
    (folder / "export.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))


def verify(model, embedder: OnnxEmbedder) -> dict:
    """Cosine of every SAMPLE sentence between the ONNX embedder (its own tokenizer and prompt
    handling included) and sentence-transformers in float32."""
    cosines = []
    for prompt, text in SAMPLE:
        ref = model.encode([text], prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True)[0]
        got = embedder.embed_queries([text])[0] if prompt == "query" else embedder.embed_documents([text])[0]
        cosines.append(float(np.dot(ref, got) / (np.linalg.norm(ref) * np.linalg.norm(got))))
    batch = embedder.embed_documents([t for _, t in SAMPLE])  # padded batch = one at a time
    singles = np.stack([embedder.embed_documents([t])[0] for _, t in SAMPLE])
    padded = float(np.min(np.sum(batch * singles, axis=1)))
    ok = min(cosines) >= MIN_COSINE and padded >= MIN_COSINE
    return {"ok": ok, "min_cosine": min(cosines), "min_cosine_batched": padded, "threshold": MIN_COSINE}


def export(path: str, fingerprint: str, target: Path, threads: int = 2) -> dict:
    """Export, verify and install the model at `target`; returns the record written there."""
    import torch  # heavy: imported where needed (the ONNX path runs without torch)
    from sentence_transformers import (
        SentenceTransformer,
    )  # heavy: imported where needed (the ONNX path runs without torch)

    print(
        f"[qa] exporting the embedding model to ONNX (once, a few minutes) into {target}", file=sys.stderr, flush=True
    )
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.monotonic()
    torch.set_num_threads(max(1, threads))
    model = SentenceTransformer(path, device="cpu", model_kwargs={"dtype": torch.float32})
    record = {"fingerprint": fingerprint, "source": path, "exporter": "torch.onnx dynamo", "torch": torch.__version__}
    try:
        _export_graph(model, tmp)
        _write_meta(model, path, tmp)
        record["export_s"] = round(time.monotonic() - started, 1)
        record.update(verify(model, OnnxEmbedder(tmp, fingerprint, threads, batch_size=len(SAMPLE))))
    except Exception as exc:  # any exporter failure: record it, the caller falls back to torch
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        for p in tmp.iterdir():
            if p.name != RECORD:
                p.unlink()
    (tmp / RECORD).write_text(json.dumps(record, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:  # another process installed the same export first
        shutil.rmtree(tmp, ignore_errors=True)
    return read_record(target) or record
