"""`qa bench`: speed and memory of the whole pipeline, measured in one run on the seed corpus.

What is measured, and how (every number comes from the real models and the real code path):

- ``cold_start_s``: a fresh ``python -c`` process that imports qa, creates an Assistant and calls
  ``warm_up()``; timed from just before the process is spawned (interpreter start and imports
  included) until warm_up returns. Models are on disk and the index is present (the bench loads
  the index in its own process first, so the child never builds it).
- ``index_build_s``: the seed corpus indexed from scratch into a temporary directory (documents
  read, chunked, every chunk embedded, FAISS + BM25 built, generation saved: the store's build
  path); models already loaded. ``index_add_s``: one seed article, altered so it is not a
  duplicate, made, embedded and added (a new generation saved).
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

Where each part lives: qa.measure.bench_answers (answers, TTFT, cold start), bench_index (index
build and add), bench_scale (the synthetic scale corpus), bench_report (keys, targets, table);
this module runs them and is the command line. `qa bench --stores` is qa.measure.bench_store.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.answering.assistant import Assistant
from qa.config import PROJECT_ROOT, Config, load_config
from qa.measure import bench_store
from qa.measure.bench_answers import measure_answers, measure_answers_in_fresh_process, measure_cold_start
from qa.measure.bench_index import measure_index
from qa.measure.bench_report import KEYS, check_targets, format_report
from qa.measure.bench_scale import measure_scale
from qa.measure.gold import GOLD_FILE, load_gold, select_questions
from qa.measure.stats import ratio, rounded
from qa.measure.system import code_fingerprint, cpu_name, peak_rss_mb
from qa.models.embedder import choose_dtype, cpu_flags
from qa.store.build import load_or_build_store

DEFAULT_JSON = PROJECT_ROOT / "reports" / "bench.json"
SCALE_CHUNKS = 100_000
SCALE_CHUNKS_LARGE = 1_000_000


def run_bench(
    config_name: str = "default",
    n_questions: int = 20,
    scale_chunks: int = SCALE_CHUNKS,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Every measurement, as the dict written to the JSON report."""
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
    index = load_or_build_store(cfg.with_(store__engine="faiss"), assistant.embedder).index
    scale = measure_scale(index, assistant.embedder, cfg, [q["question"] for q in questions], scale_chunks, say)

    run = Run(
        config_name=config_name,
        code=code,
        questions=questions,
        load_before=load_before,
        in_process_load_s=in_process_load_s,
        cold=cold,
        index_stats=index_stats,
        default=default,
        naive=naive,
        scale=scale,
        peak=peak,
        peak_after_scale=peak_rss_mb(),
    )
    return rounded(report(run, cfg, assistant))


@dataclass(frozen=True)
class Run:
    """What one bench run measured, before it is written up (report)."""

    config_name: str
    code: str  # fingerprint of the qa code this process ran
    questions: list[dict]
    load_before: tuple[float, float, float]  # os.getloadavg() before the run
    in_process_load_s: float
    cold: dict  # measure_cold_start
    index_stats: dict  # measure_index
    default: dict  # measure_answers, the measured configuration
    naive: dict  # measure_answers_in_fresh_process("naive")
    scale: dict  # measure_scale
    peak: float  # peak RSS (MB) after answering
    peak_after_scale: float  # peak RSS (MB) after the synthetic scale test


def report(run: Run, cfg: Config, assistant: Assistant) -> dict:
    """The JSON report of one bench run: the measured configuration's figures, naive's beside
    them, the targets checked and the machine described."""
    cold, index_stats, default, naive = run.cold, run.index_stats, run.default, run.naive
    shared = {
        "cold_start_s": cold["cold_start_s"],
        "index_build_s": index_stats["index_build_s"],
        "index_add_s": index_stats["index_add_s"],
        "peak_rss_mb": run.peak,
    }
    result: dict[str, Any] = {k: None for k in KEYS}
    result.update({k: v for k, v in default.items() if k != "details"}, **shared)
    result["naive"] = naive_result(naive, default, shared)
    result["scale"] = run.scale
    result["targets"] = check_targets(result)
    result["machine"] = machine(cfg, assistant.embedder, run.load_before)
    codes = {run.code, cold.get("code"), naive.get("code")}
    result["details"] = dict(
        default["details"],
        config=run.config_name,
        code=run.code,
        code_changed_during_run=len(codes) > 1,
        question_ids=[q["id"] for q in run.questions],
        in_process_load_s=run.in_process_load_s,
        cold_start_child_peak_rss_mb=cold.get("peak_rss_mb"),
        cold_start_built_index=bool(cold.get("index_log")),
        peak_rss_after_scale_mb=run.peak_after_scale,
        **{k: v for k, v in index_stats.items() if k not in shared},
    )
    return result


def naive_result(naive: dict, default: dict, shared: dict) -> dict:
    """The naive preset's part of the report: its own answer figures, the index timings shared
    with the measured configuration, and its TTFT and answer time relative to it."""
    out: dict[str, Any] = {k: None for k in KEYS}
    out.update({k: v for k, v in shared.items() if k.startswith("index_")})
    out.update({k: v for k, v in naive.items() if k in KEYS})
    out["ttft_ratio"] = ratio(naive["ttft_s_p50"], default["ttft_s_p50"])
    out["answer_ratio"] = ratio(naive["answer_s_p50"], default["answer_s_p50"])
    out["details"] = dict(
        naive["details"],
        shared_with_default=["index_add_s", "index_build_s"],
        measured_in="a fresh process (cold start = spawn → warmed up there)",
        ratios="p50(naive) / p50(default), each over the questions it generated for",
    )
    return out


def machine(cfg: Config, embedder, load_before: tuple[float, float, float]) -> dict:
    """What the numbers were measured on: cores, CPU and its bf16-relevant flags, Python, the
    embedder's runtime and dtype, and the load average before and after the run."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": cpu_name(),
        "threads": cfg.runtime.threads,
        "load_avg_before": list(load_before),
        "bf16_flags": sorted(cpu_flags() & {"avx512_bf16", "amx_bf16", "avx2", "avx512f"}),
        "embed_dtype": getattr(embedder, "dtype", None) or cfg.embedder.dtype or choose_dtype(cpu_flags()),
        "embed_runtime": getattr(embedder, "runtime", "torch"),
        "load_avg_after": list(os.getloadavg()),
    }


# -- command line -------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the results (default {DEFAULT_JSON.relative_to(PROJECT_ROOT)})",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"synthetic scale test with {SCALE_CHUNKS_LARGE:,} chunks instead of {SCALE_CHUNKS:,}",
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=20,
        metavar="N",
        help="number of gold questions, spread over the languages (default 20)",
    )
    parser.add_argument("--config", default="default", help="configuration to measure (compared with 'naive')")
    parser.add_argument(
        "--scale-chunks",
        type=int,
        default=None,
        metavar="N",
        help="size of the synthetic scale corpus (overrides --large; small values for tests)",
    )
    parser.add_argument(
        "--stores",
        action="store_true",
        help="only compare the FAISS and PostgreSQL stores at the scale size (qa.measure.bench_store)",
    )
    parser.add_argument(
        "--store-uri",
        default=None,
        metavar="URI",
        help="with --stores: an existing PostgreSQL with pgvector (default: a private pgserver)",
    )
    parser.add_argument(
        "--only",
        choices=("faiss", "postgres"),
        default=None,
        help="with --stores: measure one store only (FAISS's HNSW build took 741 s at 1M chunks here)",
    )
    parser.add_argument(
        "--pg-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --stores: the private pgserver's data folder, kept after the run "
        "(default: a temporary one, removed)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --stores: if the PostgreSQL store already holds this synthetic corpus "
        "(same size and seed), measure it without loading it again",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    scale_chunks = (
        args.scale_chunks if args.scale_chunks is not None else (SCALE_CHUNKS_LARGE if args.large else SCALE_CHUNKS)
    )
    if scale_chunks < 1:
        print("qa bench: --scale-chunks must be at least 1", file=sys.stderr)
        return 2
    if args.stores:
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
