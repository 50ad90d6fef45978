"""`qa bench`'s answer measurements: time to sources, TTFT, answer time, decode speed and prompt
sizes of questions streamed through an Assistant (in this process or a fresh one), retrieval
and query-embedding latency, and the cold start of a fresh process (see qa.measure.bench for
what each number means).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable

from qa.answering.assistant import Assistant
from qa.config import PROJECT_ROOT, load_config
from qa.measure.gold import GOLD_FILE, load_gold
from qa.measure.stats import p50_p95, percentile, rounded
from qa.measure.system import code_fingerprint, current_rss_mb, peak_rss_mb
from qa.types import Answer, SourcesFound, TextDelta

MIN_RETRIEVAL_SAMPLES = 40


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


# -- processes ----------------------------------------------------------------------------------
_COLD_START = r"""
import json, os, sys, time
started = float(sys.argv[1])
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from qa.answering.assistant import Assistant
from qa.measure.system import code_fingerprint, peak_rss_mb
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
    proc = subprocess.run(
        [sys.executable, "-c", _COLD_START, repr(started), config_name],
        capture_output=True,
        text=True,
        cwd=str(PROJECT_ROOT),
        timeout=900,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"the cold-start process failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


RESULT_PREFIX = "QA-BENCH-RESULT "
_ANSWERS_WORKER = (
    "import sys; from qa.measure.bench_answers import answers_worker; sys.exit(answers_worker(sys.argv[1:]))"
)


def answers_worker(argv: list[str]) -> int:
    """Child-process entry: <spawn time> <config> <question ids…> → one RESULT_PREFIX JSON line with
    measure_answers() plus this process's cold start (spawn → warmed up) and peak RSS."""
    started, config_name, ids = float(argv[0]), argv[1], argv[2:]
    code = code_fingerprint()
    gold = {q["id"]: q for q in load_gold(GOLD_FILE)}
    questions = [gold[i] for i in ids]
    assistant = Assistant(load_config(config_name))
    assistant.warm_up()
    cold = time.time() - started
    out = measure_answers(
        assistant, questions, lambda msg: print(f"[qa bench:{config_name}] {msg}", file=sys.stderr, flush=True)
    )
    out.update(cold_start_s=cold, peak_rss_mb=peak_rss_mb(), code=code)
    print(RESULT_PREFIX + json.dumps(rounded(out), ensure_ascii=False), flush=True)
    return 0


def measure_answers_in_fresh_process(config_name: str, questions: list[dict]) -> dict:
    """measure_answers() for `config_name` in a new interpreter (its progress goes to stderr)."""
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", _ANSWERS_WORKER, repr(started), config_name, *[q["id"] for q in questions]],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(PROJECT_ROOT),
        timeout=3600,
    )
    lines = [line[len(RESULT_PREFIX) :] for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"the '{config_name}' answering process failed (exit {proc.returncode}); its error is printed above"
        )
    return json.loads(lines[-1])


# -- measurements -------------------------------------------------------------------------------
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
    retrieval = time_calls(assistant.retrieve, [q["question"] for q in questions])
    embedding = time_calls(lambda q: assistant.embedder.embed_queries([q]), [q["question"] for q in questions])
    tap = install_tap(assistant.generator)
    rows = []
    try:
        for q in questions:
            n_before = len(tap.records) if tap else 0
            row = answer_row(assistant, q)
            records = tap.records[n_before:] if tap else []  # >1 when the answer was rewritten
            row.update(llama_timings(records))
            rows.append(row)
            log(
                f"  {q['id']}: "
                + (f"ttft {row['ttft_s']:.2f} s, " if row["ttft_s"] is not None else "abstained before generating, ")
                + f"answer {row['answer_s']:.2f} s"
                + (
                    f", prompt {row['prompt_tokens']} tokens ({row['cache_n']} cached)"
                    if records and records[0].get("timings")
                    else ""
                )
            )
    finally:
        remove_tap(assistant.generator)
    return summarize_answers(rows, retrieval, embedding)


def answer_row(assistant, q: dict) -> dict:
    """One gold question streamed through `assistant`: when its sources, first text and answer
    came (seconds from the call), and what the Answer says of its own stages."""
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
    row = {
        "id": q["id"],
        "lang": q["lang"],
        "answerable": q.get("answerable", True),
        "generated": generated,
        "abstained": answer.abstained,
        "deltas": deltas,
        "ttft_s": None,
        "answer_s": ended - started,
        "sources_s": (sources - started) if sources is not None else None,
        "model_ttft_s": answer.timings.get("ttft"),
        "retrieve_s": answer.timings.get("retrieve"),
        "verify_s": answer.timings.get("verify"),
        "stream_s": (last - first) if first is not None and last is not None else None,
        "rss_mb": current_rss_mb(),
    }
    if generated:  # first visible text: a delta, or the abstention answer after a refusal
        row["ttft_s"] = (first if first is not None else ended) - started
    return row


def llama_timings(records: list[dict]) -> dict:
    """A question's prompt and decoding figures from what the tap recorded of its requests (the
    first request's prompt; decoding summed over all of them)."""
    record = records[0] if records else {}
    timings = record.get("timings") or {}
    row = {key: timings.get(key) for key in ("prompt_n", "cache_n", "prompt_ms")}
    for key in ("predicted_n", "predicted_ms"):  # decoding, over every request of the question
        row[key] = sum((r.get("timings") or {}).get(key) or 0 for r in records) if timings else None
    row["requests"] = len(records)
    row["prompt_tokens"] = (record.get("usage") or {}).get("prompt_tokens") or (
        (timings.get("prompt_n") or 0) + (timings.get("cache_n") or 0) if timings else None
    )
    return row


def decode_speed(generated: list[dict]) -> tuple[float | None, str]:
    """Tokens per second of decoding over the generated answers, and how it was measured."""
    decoded = [r for r in generated if r["predicted_n"] and r["predicted_ms"]]
    if decoded:
        decode = sum(r["predicted_n"] for r in decoded) / (sum(r["predicted_ms"] for r in decoded) / 1000)
        return decode, "llama.cpp timings: generated tokens / decode time"
    streamed = [r for r in generated if r["deltas"] > 1 and r["stream_s"]]
    decode = (sum(r["deltas"] - 1 for r in streamed) / sum(r["stream_s"] for r in streamed)) if streamed else None
    return decode, "streamed deltas per second (no token timings from this backend)"


def summarize_answers(rows: list[dict], retrieval: list[float], embedding: list[float]) -> dict:
    """The answer measurements' part of the report: percentiles over the questions that
    generated (and over all of them for retrieval, embedding and sources), with the rows."""
    generated = [r for r in rows if r["generated"]]
    decode, method = decode_speed(generated)
    (t50, t95), (a50, a95) = p50_p95([r["ttft_s"] for r in generated]), p50_p95([r["answer_s"] for r in generated])
    s50, s95 = p50_p95([r["sources_s"] for r in rows if r["sources_s"] is not None])
    r50, r95 = p50_p95(retrieval, 1000)
    e50, e95 = p50_p95(embedding, 1000)
    prompts = [r["prompt_tokens"] for r in generated if r["prompt_tokens"]]
    prompt_ms = [r["prompt_ms"] for r in generated if r["prompt_ms"] is not None]
    prompt_n = [r["prompt_n"] for r in generated if r["prompt_n"] is not None]
    return {
        "ttft_s_p50": t50,
        "ttft_s_p95": t95,
        "answer_s_p50": a50,
        "answer_s_p95": a95,
        "sources_s_p50": s50,
        "sources_s_p95": s95,
        "retrieval_ms_p50": r50,
        "retrieval_ms_p95": r95,
        "query_embed_ms_p50": e50,
        "query_embed_ms_p95": e95,
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
            "rss_growth_mb_per_question": (
                (rows[-1]["rss_mb"] - rows[0]["rss_mb"]) / (len(rows) - 1) if len(rows) > 1 else None
            ),
            "per_question": rows,
        },
    }
