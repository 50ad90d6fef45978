"""`qa bench`: speed and memory of the whole pipeline, measured in one run on the seed corpus.

What is measured, and how (every number comes from the real models and the real code path):

- ``cold_start_s``: a fresh ``python -c`` process that imports qa, creates an Assistant and calls
  ``warm_up()``; timed from just before the process is spawned (interpreter start and imports
  included) until warm_up returns. Models are on disk and the index is present (the bench loads
  the index in its own process first, so the child never builds it).
- ``index_build_s``: the seed corpus indexed from scratch into a temporary directory (documents
  read, chunked, every chunk embedded, FAISS + BM25 built, generation saved); models already loaded.
  ``index_add_s``: one seed article, altered so it is not a duplicate, added with
  ``Index.with_document`` and saved.
- ``retrieval_ms_*``: ``Assistant.retrieve`` (query embedding + dense/lexical search + fusion).
  ``query_embed_ms_*``: the embedder alone, one question per call (``embed_queries([q])``).
- ``sources_s_*``: from calling ``Assistant.stream`` to its SourcesFound event (what the UI shows
  in the Sources panel before any text).
- ``ttft_s_*``: from calling ``Assistant.stream`` to the first text the user sees: the first
  delta, or, when the model refuses (NOT_FOUND is held back), the abstention Answer. Questions the
  relevance gate abstains on before generating are excluded and counted. ``answer_s_*``: from the
  call to the final Answer, over the same questions.
- ``decode_tok_s``: generated tokens / decode time as llama.cpp reports them on the final streamed
  chunk (read by a pass-through tap on the generator's server object); deltas per second when the
  backend gives no timings.
- ``peak_rss_mb``: peak resident memory (VmHWM; ru_maxrss where /proc is missing) of this
  process before the synthetic-scale phase.
- ``naive``: the same on the ``naive`` preset (top-5 passages, no checks), same models, same run,
  answered in a fresh process: llama.cpp keeps earlier prompts' KV state in RAM and reuses it by
  prefix, so asking the same question a second time in one process would hand the second
  configuration most of its prompt for free. The fresh process also gives naive its own cold start
  and peak RSS; the index timings are shared (the presets do not change chunking).
- ``scale``: retrieval over a synthetic corpus of 100k (1M with ``--large``) chunks. Vectors are
  real chunk vectors plus small Gaussian noise, renormalised; texts are recombined real sentences.
  Nothing is embedded with the model (100k texts would take hours on this CPU).

Targets (``TARGETS``) are checked and written with the results.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from qa.config import PROJECT_ROOT, Config, load_config
from qa.models.embedder import choose_dtype, cpu_flags
from qa.measure.evaluate import load_gold, percentile

GOLD_FILE = PROJECT_ROOT / "seeds" / "gold.jsonl"
DEFAULT_JSON = PROJECT_ROOT / "reports" / "bench.json"
LANG_ORDER = ("en", "de", "zh", "ar")
SCALE_CHUNKS = 100_000
SCALE_CHUNKS_LARGE = 1_000_000
SCALE_NOISE = 0.5  # norm of the noise added to a unit chunk vector (cosine to it ≈ 0.89)
MIN_RETRIEVAL_SAMPLES = 40

KEYS = ("ttft_s_p50", "ttft_s_p95", "answer_s_p50", "answer_s_p95", "retrieval_ms_p50", "retrieval_ms_p95",
        "query_embed_ms_p50", "query_embed_ms_p95", "sources_s_p50", "sources_s_p95", "cold_start_s",
        "index_build_s", "index_add_s", "decode_tok_s", "peak_rss_mb")
SCALE_KEYS = ("chunks", "build_s", "retrieval_ms_p50", "retrieval_ms_p95", "rss_mb")

# (name, path of the value in the result, "<=" or ">=", limit): the speed issue's targets (query
# embedding, time to sources, cold start 8 s, peak RSS 2.5 GB) and, where an earlier issue set a
# stricter one (seed index build 5 s, one article added in 1 s), the stricter.
TARGETS: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    ("ttft_s_p50", ("ttft_s_p50",), "<=", 1.5),
    ("answer_s_p50", ("answer_s_p50",), "<=", 5.0),
    ("sources_s_p50", ("sources_s_p50",), "<=", 0.5),
    ("retrieval_ms_p50", ("retrieval_ms_p50",), "<=", 30.0),
    ("query_embed_ms_p50", ("query_embed_ms_p50",), "<=", 25.0),
    ("cold_start_s", ("cold_start_s",), "<=", 8.0),
    ("index_build_s", ("index_build_s",), "<=", 5.0),
    ("index_add_s", ("index_add_s",), "<=", 1.0),
    ("peak_rss_mb", ("peak_rss_mb",), "<=", 2560.0),
    ("scale_retrieval_ms_p50", ("scale", "retrieval_ms_p50"), "<=", 30.0),
    ("ttft_naive_over_default", ("naive", "ttft_ratio"), ">=", 2.0),
)


# -- statistics ---------------------------------------------------------------------------------
def p50_p95(values: Sequence[float], scale: float = 1.0) -> tuple[float | None, float | None]:
    """Median and 95th percentile, multiplied by `scale` (1000 for seconds → ms)."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return (None if p50 is None else p50 * scale, None if p95 is None else p95 * scale)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def rounded(value: Any, digits: int = 4) -> Any:
    """Round floats for the report, recursively; NaN/inf become None (JSON has no NaN)."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far. Linux's VmHWM when available: ru_maxrss
    (kB on Linux) is carried over from the parent into a child started with vfork + exec, so
    a child of a 3 GB process would report at least 3 GB whatever it used itself."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return rss if rss is not None else peak_rss_mb()


NOT_PIPELINE = {"measure", "cli.py"}  # sources that do not change what is measured (the tools)


def code_fingerprint(package: Path = Path(__file__).resolve().parents[1]) -> str:
    """Hash of the pipeline's sources (qa/*.py but the tools, calibration.json). Each process
    reports it right after importing qa, so a run can tell whether all its processes ran the same
    code (files edited mid-run would make the default/naive comparison meaningless)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *package.glob("*.json")]):
        rel = path.relative_to(package)
        if rel.parts[0] not in NOT_PIPELINE:
            h.update(rel.as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def check_targets(result: dict) -> dict:
    """{target name: {"target": "<= 1.5", "value": x, "met": bool}} for every target in TARGETS."""
    out = {}
    for name, path, op, limit in TARGETS:
        value: Any = result
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        met = value is not None and (value <= limit if op == "<=" else value >= limit)
        out[name] = {"target": f"{op} {limit:g}", "value": value, "met": bool(met)}
    return out


# -- questions ----------------------------------------------------------------------------------
def _spread(items: list[dict], k: int) -> list[dict]:
    """k items evenly spaced over the list (so dev/test and every tag are sampled)."""
    if k <= 0 or not items:
        return []
    k = min(k, len(items))
    return [items[int((i + 0.5) * len(items) / k)] for i in range(k)]


def select_questions(gold: list[dict], n: int) -> list[dict]:
    """n stand-alone questions (follow-ups need a conversation, so they are left out), spread
    evenly over the languages (en, de, zh, ar; the first languages get the remainder), with
    answerable and unanswerable ones in the gold set's proportion per language; deterministic."""
    pool = sorted((q for q in gold if not q.get("follows")), key=lambda q: q["id"])
    if n < 1:
        raise ValueError("--questions must be at least 1")
    if n > len(pool):
        raise ValueError(f"--questions can be at most {len(pool)} (the stand-alone gold questions)")
    langs = [lang for lang in LANG_ORDER if any(q["lang"] == lang for q in pool)]
    langs += sorted({q["lang"] for q in pool} - set(langs))
    by_lang = {lang: [q for q in pool if q["lang"] == lang] for lang in langs}
    quota = {lang: 0 for lang in langs}
    remaining, i = n, 0
    while remaining:  # round-robin, skipping languages that ran out of questions
        lang = langs[i % len(langs)]
        if quota[lang] < len(by_lang[lang]):
            quota[lang] += 1
            remaining -= 1
        i += 1
    per_lang: dict[str, list[dict]] = {}
    for lang in langs:
        answerable = [q for q in by_lang[lang] if q.get("answerable", True)]
        unanswerable = [q for q in by_lang[lang] if not q.get("answerable", True)]
        k_un = round(quota[lang] * len(unanswerable) / len(by_lang[lang])) if quota[lang] >= 3 else 0
        k_un = min(max(k_un, 0), len(unanswerable))
        k_an = min(quota[lang] - k_un, len(answerable))
        k_un = quota[lang] - k_an
        chosen = _spread(answerable, k_an)
        picked = _spread(unanswerable, k_un)
        # unanswerable questions placed evenly between the answerable ones
        for j, q in enumerate(picked):
            chosen.insert(min(len(chosen), (j + 1) * (len(chosen) + len(picked)) // (len(picked) + 1)), q)
        per_lang[lang] = chosen
    order: list[dict] = []
    for j in range(max(map(len, per_lang.values()))):
        order += [per_lang[lang][j] for lang in langs if j < len(per_lang[lang])]
    return order


# -- synthetic corpus ---------------------------------------------------------------------------
def synthetic_vectors(base: np.ndarray, n: int, noise: float = SCALE_NOISE, seed: int = 0,
                      block: int = 50_000) -> np.ndarray:
    """n unit vectors: base rows (cycled) + Gaussian noise of expected norm `noise`, renormalised."""
    if base.ndim != 2 or not len(base):
        raise ValueError("synthetic vectors need at least one base vector")
    rng = np.random.default_rng(seed)
    m, dim = base.shape
    sigma = np.float32(noise / math.sqrt(dim))
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        v = base[np.arange(start, stop) % m].astype(np.float32)
        v += rng.standard_normal((stop - start, dim), dtype=np.float32) * sigma
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start:stop] = v
    return out


def synthetic_texts(chunk_sentences: list[list[str]], chunk_langs: list[str], n: int, seed: int = 0) -> list[str]:
    """n chunk-sized texts: synthetic chunk j starts with the first sentence of real chunk j mod m
    and continues with 1–2 random sentences of the same language, so BM25 sees real vocabulary
    with realistic term statistics."""
    if not chunk_sentences:
        raise ValueError("synthetic texts need at least one real chunk")
    rng = np.random.default_rng(seed + 1)
    pools: dict[str, list[str]] = {}
    for sentences, lang in zip(chunk_sentences, chunk_langs):
        pools.setdefault(lang, []).extend(s for s in sentences if s.strip())
    m = len(chunk_sentences)
    extra = rng.integers(1, 3, size=n)
    texts = []
    for j in range(n):
        i = j % m
        pool = pools.get(chunk_langs[i]) or [""]
        picks = rng.integers(0, len(pool), size=int(extra[j]))
        head = chunk_sentences[i][0] if chunk_sentences[i] else ""
        texts.append(" ".join([head] + [pool[p] for p in picks]).strip() or "\u2205")
    return texts


def synthetic_index(index, n: int, noise: float = SCALE_NOISE, seed: int = 0):
    """A qa.index.Index of n synthetic chunks derived from a real index (see module docstring);
    returns (index, build seconds). Only building the Index (FAISS + BM25) is timed."""
    from qa.store.faiss_index import Index
    from qa.types import Chunk

    chunks = index.chunks
    sentences = [[index.docs[c.doc_id].text[a:b] for a, b in c.sentences] or [c.text] for c in chunks]
    texts = synthetic_texts(sentences, [c.lang for c in chunks], n, seed)
    vectors = synthetic_vectors(index.vectors, n, noise, seed)
    syn = [Chunk(id=f"synthetic#{j}", doc_id=chunks[j % len(chunks)].doc_id, lang=chunks[j % len(chunks)].lang,
                 start=0, end=len(t), text=t, sentences=((0, len(t)),)) for j, t in enumerate(texts)]
    del texts
    gc.collect()
    started = time.perf_counter()
    big = Index(list(index.docs.values()), syn, vectors, {"synthetic": True, "chunks": n})
    return big, time.perf_counter() - started


# -- llama.cpp timings --------------------------------------------------------------------------
class TimingTap:
    """Pass-through wrapper for the llama.cpp server object a LlamaCppGenerator holds: every chunk
    goes to the generator unchanged; the `timings`/`usage` llama.cpp puts on the final streamed
    chunk (prompt tokens, cached tokens, prompt and decode milliseconds) are recorded."""

    def __init__(self, server):
        self._server = server
        self.records: list[dict] = []

    def handle_chat_completions(self, request, callback):
        record: dict = {}

        def tap(chunk):
            data = json.loads(chunk) if isinstance(chunk, (str, bytes)) else chunk
            if isinstance(data, dict):
                for key in ("timings", "usage"):
                    if key in data:
                        record[key] = data[key]
            return callback(chunk)

        try:
            return self._server.handle_chat_completions(request, tap)
        finally:
            self.records.append(record)

    def __getattr__(self, name):
        return getattr(self._server, name)


def install_tap(generator) -> TimingTap | None:
    server = getattr(generator, "_server", None)
    if server is None or not hasattr(server, "handle_chat_completions"):
        return None
    if isinstance(server, TimingTap):
        return server
    tap = TimingTap(server)
    generator._server = tap
    return tap


def remove_tap(generator) -> None:
    server = getattr(generator, "_server", None)
    if isinstance(server, TimingTap):
        generator._server = server._server


# -- measurements -------------------------------------------------------------------------------
_COLD_START = r"""
import json, os, sys, time
started = float(sys.argv[1])
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from qa.answering.assistant import Assistant
from qa.measure.bench import code_fingerprint, peak_rss_mb
from qa.config import load_config
code = code_fingerprint()
log = []
assistant = Assistant(load_config(sys.argv[2]), log=log.append)
assistant.warm_up()
elapsed = time.time() - started
print(json.dumps({"cold_start_s": elapsed, "index_log": log, "code": code,
                  "peak_rss_mb": peak_rss_mb()}))
"""


def measure_cold_start(config_name: str) -> dict:
    """Spawn a fresh interpreter; process start → Assistant warmed up (imports included)."""
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", _COLD_START, repr(started), config_name],
                          capture_output=True, text=True, cwd=str(PROJECT_ROOT), timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"the cold-start process failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


RESULT_PREFIX = "QA-BENCH-RESULT "
_ANSWERS_WORKER = "import sys; from qa.measure.bench import answers_worker; sys.exit(answers_worker(sys.argv[1:]))"


def answers_worker(argv: list[str]) -> int:
    """Child-process entry: <spawn time> <config> <question ids…> → one RESULT_PREFIX JSON line with
    measure_answers() plus this process's cold start (spawn → warmed up) and peak RSS."""
    from qa.answering.assistant import Assistant

    started, config_name, ids = float(argv[0]), argv[1], argv[2:]
    code = code_fingerprint()
    gold = {q["id"]: q for q in load_gold(GOLD_FILE)}
    questions = [gold[i] for i in ids]
    assistant = Assistant(load_config(config_name))
    assistant.warm_up()
    cold = time.time() - started
    out = measure_answers(assistant, questions, lambda msg: print(f"[qa bench:{config_name}] {msg}",
                                                                    file=sys.stderr, flush=True))
    out.update(cold_start_s=cold, peak_rss_mb=peak_rss_mb(), code=code)
    print(RESULT_PREFIX + json.dumps(rounded(out), ensure_ascii=False), flush=True)
    return 0


def measure_answers_in_fresh_process(config_name: str, questions: list[dict]) -> dict:
    """measure_answers() for `config_name` in a new interpreter (its progress goes to stderr)."""
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", _ANSWERS_WORKER, repr(started), config_name,
                           *[q["id"] for q in questions]],
                          stdout=subprocess.PIPE, text=True, cwd=str(PROJECT_ROOT), timeout=3600)
    lines = [line[len(RESULT_PREFIX):] for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the '{config_name}' answering process failed (exit {proc.returncode}); "
                           "its error is printed above")
    return json.loads(lines[-1])


def measure_index(cfg: Config, embedder, log: Callable[[str], None]) -> dict:
    """Build the seed corpus index from scratch into a temporary directory, then add one article."""
    from qa.text.corpus import make_document
    from qa.store.faiss_index import Index, load_documents

    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        tmp_cfg = cfg.with_(index_dir=Path(tmp) / "index", uploads_dir=Path(tmp) / "no-uploads")
        started = time.perf_counter()
        docs = load_documents(tmp_cfg)
        index = Index.build(docs, embedder, tmp_cfg, reuse=None)
        index.save(tmp_cfg.index_dir)
        build_s = time.perf_counter() - started
        log(f"index build: {len(index.docs)} articles, {len(index.chunks)} chunks in {build_s:.2f} s")

        # a median-length seed article, altered so the duplicate check does not reject it
        source = sorted(docs, key=lambda d: len(d.text))[len(docs) // 2]
        text = source.text.rstrip() + "\n\n(Updated copy for the benchmark.)\n"
        started = time.perf_counter()
        doc = make_document("bench_added", text, str(Path(tmp) / "bench_added.txt"))
        bigger = index.with_document(doc, embedder, tmp_cfg)
        bigger.save(tmp_cfg.index_dir)
        add_s = time.perf_counter() - started
        added = len(bigger.chunks) - len(index.chunks)
        log(f"index add: {source.id} ({len(text):,} characters, {added} chunks) in {add_s:.2f} s")
    return {"index_build_s": build_s, "index_add_s": add_s, "build_chunks": len(index.chunks),
            "add_source": source.id, "add_chars": len(text), "add_chunks": added}


def time_calls(call: Callable[[str], object], questions: list[str]) -> list[float]:
    """Seconds per call of `call` (retrieval, query embedding), over the questions repeated to
    ≥ MIN_RETRIEVAL_SAMPLES calls."""
    passes = max(1, math.ceil(MIN_RETRIEVAL_SAMPLES / len(questions)))
    times = []
    for _ in range(passes):
        for q in questions:
            started = time.perf_counter()
            call(q)
            times.append(time.perf_counter() - started)
    return times


def measure_answers(assistant, questions: list[dict], log: Callable[[str], None]) -> dict:
    """Stream every question through `assistant`; TTFT, answer time, decode speed, prompt sizes."""
    from qa.types import Answer, SourcesFound, TextDelta

    retrieval = time_calls(assistant.retrieve, [q["question"] for q in questions])
    embedding = time_calls(lambda q: assistant.embedder.embed_queries([q]), [q["question"] for q in questions])
    tap = install_tap(assistant.generator)
    rows = []
    try:
        for q in questions:
            n_before = len(tap.records) if tap else 0
            first = last = sources = None
            deltas = 0
            answer = None
            started = time.perf_counter()
            for item in assistant.stream(q["question"]):
                now = time.perf_counter()
                if isinstance(item, Answer):
                    answer = item
                elif isinstance(item, SourcesFound):
                    sources = now if sources is None else sources
                elif isinstance(item, TextDelta):
                    deltas += 1
                    first = now if first is None else first
                    last = now
            ended = time.perf_counter()
            generated = "ttft" in answer.timings
            row = {"id": q["id"], "lang": q["lang"], "answerable": q.get("answerable", True),
                   "generated": generated, "abstained": answer.abstained, "deltas": deltas,
                   "ttft_s": None, "answer_s": ended - started,
                   "sources_s": (sources - started) if sources is not None else None, "model_ttft_s": answer.timings.get("ttft"),
                   "retrieve_s": answer.timings.get("retrieve"), "verify_s": answer.timings.get("verify"),
                   "stream_s": (last - first) if first is not None and last is not None else None,
                   "rss_mb": current_rss_mb()}
            if generated:  # first visible text: a delta, or the abstention answer after a refusal
                row["ttft_s"] = (first if first is not None else ended) - started
            records = tap.records[n_before:] if tap else []  # >1 when the answer was rewritten
            record = records[0] if records else {}
            timings = record.get("timings") or {}
            for key in ("prompt_n", "cache_n", "prompt_ms"):
                row[key] = timings.get(key)
            for key in ("predicted_n", "predicted_ms"):  # decoding, over every request of the question
                row[key] = sum((r.get("timings") or {}).get(key) or 0 for r in records) if timings else None
            row["requests"] = len(records)
            row["prompt_tokens"] = (record.get("usage") or {}).get("prompt_tokens") or (
                (timings.get("prompt_n") or 0) + (timings.get("cache_n") or 0) if timings else None)
            rows.append(row)
            log(f"  {q['id']}: " + (f"ttft {row['ttft_s']:.2f} s, " if row["ttft_s"] is not None else
                                     "abstained before generating, ") +
                f"answer {row['answer_s']:.2f} s" +
                (f", prompt {row['prompt_tokens']} tokens ({row['cache_n']} cached)" if timings else ""))
    finally:
        remove_tap(assistant.generator)

    generated = [r for r in rows if r["generated"]]
    ttft = [r["ttft_s"] for r in generated]
    answer_times = [r["answer_s"] for r in generated]
    decoded = [r for r in generated if r["predicted_n"] and r["predicted_ms"]]
    if decoded:
        decode = sum(r["predicted_n"] for r in decoded) / (sum(r["predicted_ms"] for r in decoded) / 1000)
        method = "llama.cpp timings: generated tokens / decode time"
    else:
        streamed = [r for r in generated if r["deltas"] > 1 and r["stream_s"]]
        decode = (sum(r["deltas"] - 1 for r in streamed) / sum(r["stream_s"] for r in streamed)) if streamed else None
        method = "streamed deltas per second (no token timings from this backend)"
    (t50, t95), (a50, a95) = p50_p95(ttft), p50_p95(answer_times)
    s50, s95 = p50_p95([r["sources_s"] for r in rows if r["sources_s"] is not None])
    r50, r95 = p50_p95(retrieval, 1000)
    e50, e95 = p50_p95(embedding, 1000)
    prompts = [r["prompt_tokens"] for r in generated if r["prompt_tokens"]]
    prompt_ms = [r["prompt_ms"] for r in generated if r["prompt_ms"] is not None]
    prompt_n = [r["prompt_n"] for r in generated if r["prompt_n"] is not None]
    return {
        "ttft_s_p50": t50, "ttft_s_p95": t95, "answer_s_p50": a50, "answer_s_p95": a95,
        "sources_s_p50": s50, "sources_s_p95": s95,
        "retrieval_ms_p50": r50, "retrieval_ms_p95": r95, "query_embed_ms_p50": e50, "query_embed_ms_p95": e95,
        "decode_tok_s": decode,
        "details": {
            "questions": len(rows),
            "ttft_excluded": len(rows) - len(generated),
            "ttft_excluded_why": "the relevance gate abstained before generating (no model call)",
            "model_refusals": sum(1 for r in generated if r["deltas"] == 0),
            "model_ttft_s_p50": percentile([r["model_ttft_s"] for r in generated if r["model_ttft_s"]], 50),
            "answer_s_p50_all_questions": percentile([r["answer_s"] for r in rows], 50),
            "retrieval_samples": len(retrieval),
            "decode_method": method,
            "prompt_tokens_p50": percentile(prompts, 50),
            "prompt_tokens_max": max(prompts) if prompts else None,
            "prompt_eval_tokens_p50": percentile(prompt_n, 50),
            "prompt_eval_ms_p50": percentile(prompt_ms, 50),
            "prompt_eval_tok_s": (sum(prompt_n) / (sum(prompt_ms) / 1000)) if prompt_ms and sum(prompt_ms) else None,
            "rss_growth_mb_per_question": ((rows[-1]["rss_mb"] - rows[0]["rss_mb"]) / (len(rows) - 1)
                                           if len(rows) > 1 else None),
            "per_question": rows,
        },
    }


def measure_scale(index, embedder, cfg: Config, questions: list[str], n: int, log: Callable[[str], None]) -> dict:
    """Retrieval latency through the real Retriever over a synthetic n-chunk index."""
    from qa.store.faiss_index import HNSW_ABOVE
    from qa.answering.retrieve import Retriever

    gc.collect()
    rss_before = current_rss_mb()
    log(f"scale: building a synthetic index of {n:,} chunks (vectors = real chunk vectors + noise; "
        "texts = recombined real sentences; nothing is embedded with the model)")
    big, build_s = synthetic_index(index, n)
    gc.collect()
    retriever = Retriever(big, embedder, cfg)
    full = time_calls(lambda q: retriever.search(q), questions)
    vectors = {q: retriever.query_vector(q) for q in questions}
    search_only = time_calls(lambda q: retriever.search(q, vector=vectors[q]), questions)
    rss = current_rss_mb()
    r50, r95 = p50_p95(full, 1000)
    s50, s95 = p50_p95(search_only, 1000)
    result = {"chunks": n, "build_s": build_s, "retrieval_ms_p50": r50, "retrieval_ms_p95": r95, "rss_mb": rss,
              "details": {"dense_index": "HNSW (M=32, efSearch=96)" if n > HNSW_ABOVE else "exact (flat)",
                          "search_only_ms_p50": s50, "search_only_ms_p95": s95,
                          "rss_before_mb": rss_before, "rss_added_mb": rss - rss_before,
                          "samples": len(full), "noise_norm": SCALE_NOISE,
                          "how": "synthetic: real chunk vectors + Gaussian noise (renormalised), texts "
                                 "recombined from real sentences; retrieval_ms includes embedding the "
                                 "question, search_only_ms uses precomputed question vectors"}}
    del big, retriever
    gc.collect()
    return result


def run_bench(config_name: str = "default", n_questions: int = 20, scale_chunks: int = SCALE_CHUNKS,
              log: Callable[[str], None] | None = None) -> dict:
    """Every measurement, as the dict written to the JSON report."""
    from qa.answering.assistant import Assistant
    from qa.store.faiss_index import load_or_build

    say = log or (lambda msg: print(f"[qa bench] {msg}", file=sys.stderr, flush=True))
    questions = select_questions(load_gold(GOLD_FILE), n_questions)
    load_before = os.getloadavg()
    cfg = load_config(config_name)

    say(f"loading the models and the index ({config_name})")
    code = code_fingerprint()  # qa was imported just above: this is the code this process runs
    assistant = Assistant(cfg)
    started = time.perf_counter()
    assistant.warm_up()  # also makes sure the index is present and fresh before the cold start
    in_process_load_s = time.perf_counter() - started

    say("cold start: fresh process → Assistant.warm_up()")
    cold = measure_cold_start(config_name)
    say(f"cold start {cold['cold_start_s']:.1f} s")

    index_stats = measure_index(cfg, assistant.embedder, say)

    say(f"answering {len(questions)} questions with '{config_name}'")
    default = measure_answers(assistant, questions, say)
    peak = peak_rss_mb()
    say(f"answering {len(questions)} questions with 'naive' in a fresh process")
    naive = measure_answers_in_fresh_process("naive", questions)

    # the synthetic scale test grows the FAISS index itself (qa bench --stores compares engines)
    scale = measure_scale(load_or_build(cfg, assistant.embedder), assistant.embedder, cfg, [q["question"] for q in questions],
                          scale_chunks, say)

    shared = {"cold_start_s": cold["cold_start_s"], "index_build_s": index_stats["index_build_s"],
              "index_add_s": index_stats["index_add_s"], "peak_rss_mb": peak}
    result: dict[str, Any] = {k: None for k in KEYS}
    result.update({k: v for k, v in default.items() if k != "details"}, **shared)
    naive_out: dict[str, Any] = {k: None for k in KEYS}
    naive_out.update({k: v for k, v in shared.items() if k.startswith("index_")})
    naive_out.update({k: v for k, v in naive.items() if k in KEYS})
    naive_out["ttft_ratio"] = ratio(naive["ttft_s_p50"], default["ttft_s_p50"])
    naive_out["answer_ratio"] = ratio(naive["answer_s_p50"], default["answer_s_p50"])
    naive_out["details"] = dict(naive["details"], shared_with_default=["index_add_s", "index_build_s"],
                                measured_in="a fresh process (cold start = spawn → warmed up there)",
                                ratios="p50(naive) / p50(default), each over the questions it generated for")
    result["naive"] = naive_out
    result["scale"] = scale
    result["targets"] = check_targets(result)
    result["machine"] = {
        "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "processor": _cpu_name(), "threads": cfg.threads, "load_avg_before": list(load_before),
        "bf16_flags": sorted(cpu_flags() & {"avx512_bf16", "amx_bf16", "avx2", "avx512f"}),
        "embed_dtype": getattr(assistant.embedder, "dtype", None) or cfg.embed_dtype or choose_dtype(cpu_flags()),
        "embed_runtime": getattr(assistant.embedder, "runtime", "torch"),
        "load_avg_after": list(os.getloadavg()),
    }
    codes = {code, cold.get("code"), naive.get("code")}
    result["details"] = dict(default["details"], config=config_name, code=code,
                             code_changed_during_run=len(codes) > 1,
                             question_ids=[q["id"] for q in questions],
                             in_process_load_s=in_process_load_s,
                             cold_start_child_peak_rss_mb=cold.get("peak_rss_mb"),
                             cold_start_built_index=bool(cold.get("index_log")),
                             peak_rss_after_scale_mb=peak_rss_mb(),
                             **{k: v for k, v in index_stats.items() if k not in shared})
    return rounded(result)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# -- report -------------------------------------------------------------------------------------
def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return text + unit


def format_report(result: dict) -> str:
    naive, scale, targets, d = result["naive"], result["scale"], result["targets"], result.get("details", {})
    rows = [
        ("time to sources p50 / p95", "sources_s_p50", "sources_s_p95", " s"),
        ("TTFT p50 / p95", "ttft_s_p50", "ttft_s_p95", " s"),
        ("answer p50 / p95", "answer_s_p50", "answer_s_p95", " s"),
        ("retrieval p50 / p95", "retrieval_ms_p50", "retrieval_ms_p95", " ms"),
        ("query embedding p50 / p95", "query_embed_ms_p50", "query_embed_ms_p95", " ms"),
        ("decode speed", "decode_tok_s", None, " tok/s"),
        ("cold start", "cold_start_s", None, " s"),
        ("index build (seed corpus)", "index_build_s", None, " s"),
        ("index add (one article)", "index_add_s", None, " s"),
        ("peak RSS", "peak_rss_mb", None, " MB"),
    ]
    target_of = {path[-1]: targets[name] for name, path, _, _ in TARGETS if len(path) == 1}

    def cell(src: dict, a: str, b: str | None, unit: str) -> str:
        return _fmt(src.get(a), unit) if b is None else f"{_fmt(src.get(a))} / {_fmt(src.get(b), unit)}"

    lines = [f"{'metric':<28}{result['details'].get('config', 'default'):>20}{'naive':>20}   target",
             "-" * 84]
    for label, a, b, unit in rows:
        t = target_of.get(a)
        mark = f"   {t['target']}  {'met' if t['met'] else 'MISSED'}" if t else ""
        lines.append(f"{label:<28}{cell(result, a, b, unit):>20}{cell(naive, a, b, unit):>20}{mark}")
    t = targets["ttft_naive_over_default"]
    lines.append(f"{'TTFT naive / default':<28}{_fmt(naive.get('ttft_ratio'), '×'):>20}{'':>20}"
                 f"   {t['target']}  {'met' if t['met'] else 'MISSED'}")
    lines.append(f"{'answer naive / default':<28}{_fmt(naive.get('answer_ratio'), '×'):>20}")
    t = targets["scale_retrieval_ms_p50"]
    lines += [
        "",
        f"scale: {scale['chunks']:,} synthetic chunks ({scale['details']['dense_index']}), built in "
        f"{_fmt(scale['build_s'], ' s')}; retrieval p50 / p95 {_fmt(scale['retrieval_ms_p50'])} / "
        f"{_fmt(scale['retrieval_ms_p95'], ' ms')} (search alone {_fmt(scale['details']['search_only_ms_p50'])} / "
        f"{_fmt(scale['details']['search_only_ms_p95'], ' ms')}); RSS {_fmt(scale['rss_mb'], ' MB')}   "
        f"{t['target']} ms  {'met' if t['met'] else 'MISSED'}",
        "       synthetic vectors = real chunk vectors + Gaussian noise, renormalised; texts recombined from "
        "real sentences; no text was embedded with the model",
        "",
        f"questions: {d.get('questions')} ({', '.join(d.get('question_ids', []))}); "
        f"excluded from TTFT/answer stats (abstained before generating): default {d.get('ttft_excluded')}, "
        f"naive {naive['details'].get('ttft_excluded')}; model refusals (TTFT = time to the abstention): "
        f"default {d.get('model_refusals')}, naive {naive['details'].get('model_refusals')}",
        f"prompt tokens p50 / max: default {_fmt(d.get('prompt_tokens_p50'))} / {_fmt(d.get('prompt_tokens_max'))}, "
        f"naive {_fmt(naive['details'].get('prompt_tokens_p50'))} / {_fmt(naive['details'].get('prompt_tokens_max'))}; "
        f"prompt eval {_fmt(d.get('prompt_eval_tok_s'), ' tok/s')} (default), "
        f"decode: {d.get('decode_method')}",
        f"memory: peak RSS of the cold-start process {_fmt(d.get('cold_start_child_peak_rss_mb'), ' MB')}; "
        f"RSS grew {_fmt(d.get('rss_growth_mb_per_question'), ' MB')} per question (default), "
        f"{_fmt(naive['details'].get('rss_growth_mb_per_question'), ' MB')} (naive)",
        f"machine: {result['machine']['cores']} cores ({result['machine']['processor']}; flags "
        f"{' '.join(result['machine'].get('bf16_flags', [])) or 'none of avx2/avx512f/bf16'}; embedder "
        f"{result['machine'].get('embed_runtime', 'torch')} {result['machine'].get('embed_dtype', '?')}), Python "
        f"{result['machine']['python']}, load average before/after "
        f"{result['machine']['load_avg_before'][0]:.2f}/{result['machine']['load_avg_after'][0]:.2f}",
        f"targets met: {sum(t['met'] for t in targets.values())}/{len(targets)}",
    ]
    if d.get("code_changed_during_run"):
        lines.append("WARNING: the qa sources changed during this run, so its processes ran different "
                     "code; the comparison is not trustworthy. Run it again.")
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help=f"where to write the results (default {DEFAULT_JSON.relative_to(PROJECT_ROOT)})")
    parser.add_argument("--large", action="store_true",
                        help=f"synthetic scale test with {SCALE_CHUNKS_LARGE:,} chunks instead of {SCALE_CHUNKS:,}")
    parser.add_argument("--questions", type=int, default=20, metavar="N",
                        help="number of gold questions, spread over the languages (default 20)")
    parser.add_argument("--config", default="default", help="configuration to measure (compared with 'naive')")
    parser.add_argument("--scale-chunks", type=int, default=None, metavar="N",
                        help="size of the synthetic scale corpus (overrides --large; small values for tests)")
    parser.add_argument("--stores", action="store_true",
                        help="only compare the FAISS and PostgreSQL stores at the scale size (qa.bench_store)")
    parser.add_argument("--store-uri", default=None, metavar="URI",
                        help="with --stores: an existing PostgreSQL with pgvector (default: a private pgserver)")
    parser.add_argument("--only", choices=("faiss", "postgres"), default=None,
                        help="with --stores: measure one store only (FAISS's HNSW build took 741 s at 1M chunks here)")
    parser.add_argument("--pg-dir", type=Path, default=None, metavar="DIR",
                        help="with --stores: the private pgserver's data folder, kept after the run "
                             "(default: a temporary one, removed)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --stores: if the PostgreSQL store already holds this synthetic corpus "
                             "(same size and seed), measure it without loading it again")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    scale_chunks = args.scale_chunks if args.scale_chunks is not None else (
        SCALE_CHUNKS_LARGE if args.large else SCALE_CHUNKS)
    if scale_chunks < 1:
        print("qa bench: --scale-chunks must be at least 1", file=sys.stderr)
        return 2
    if args.stores:
        from qa.measure import bench_store

        path = args.json if args.json != DEFAULT_JSON else DEFAULT_JSON.with_name("bench-stores.json")
        stores = (args.only,) if args.only else ("faiss", "postgres")
        return bench_store.main(scale_chunks, args.store_uri, path, stores, args.reuse, args.pg_dir)
    try:
        load_config(args.config)
        select_questions(load_gold(GOLD_FILE), args.questions)
    except ValueError as err:
        print(f"qa bench: {err}", file=sys.stderr)
        return 2
    result = run_bench(args.config, args.questions, scale_chunks)
    print(format_report(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.json}")
    return 0
