"""Settings: one frozen dataclass, defaults overridable by environment variables.

Every knob of the pipeline lives here so that an evaluation configuration is just a
named set of overrides (see ``PRESETS``) and nothing else reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

MAX_QUESTION_CHARS = 2000


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Config:
    seeds_dir: Path = field(default_factory=lambda: _env_path("QA_SEEDS_DIR", PROJECT_ROOT / "seeds"))
    uploads_dir: Path = field(default_factory=lambda: _env_path("QA_UPLOADS_DIR", PROJECT_ROOT / "uploads"))
    index_dir: Path = field(default_factory=lambda: _env_path("QA_INDEX_DIR", PROJECT_ROOT / "index"))
    models_dir: Path = field(
        default_factory=lambda: _env_path("QA_MODELS_DIR", Path.home() / ".cache" / "qa" / "models")
    )
    # A key of qa.models.REGISTRY, a local path, or a Hugging Face id ("hf:google/embeddinggemma-300m").
    embed_model: str = field(default_factory=lambda: os.environ.get("QA_EMBED_MODEL", "embeddinggemma-300m"))
    gen_model: str = field(
        default_factory=lambda: os.environ.get("QA_GEN_MODEL", "qwen2.5-coder-1.5b-instruct-q4_k_m")
    )
    # "bfloat16" or "float32"; not set = chosen by the CPU (qa.embed.choose_dtype: bf16 only
    # where it is native, float32 elsewhere). bf16 vectors are within cosine 0.998 of float32.
    embed_dtype: str | None = field(default_factory=lambda: os.environ.get("QA_EMBED_DTYPE") or None)
    # "onnx" or "torch"; not set = onnx where the model's ONNX export exists and passed its check
    # against torch float32 (made once at first use; qa.embed.make_embedder), torch otherwise.
    # Setting embed_dtype to bfloat16 also means torch (the export is float32).
    embed_runtime: str | None = field(default_factory=lambda: os.environ.get("QA_EMBED_RUNTIME") or None)
    # "llamacpp" (in-process), "openai" (any OpenAI-compatible HTTP server), "transformers".
    gen_backend: str = field(default_factory=lambda: os.environ.get("QA_GEN_BACKEND", "llamacpp"))
    openai_base_url: str = field(
        default_factory=lambda: os.environ.get("QA_OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    )
    # seconds to wait for an OpenAI-compatible server before giving up with a clear message
    openai_timeout: float = field(default_factory=lambda: float(os.environ.get("QA_OPENAI_TIMEOUT", "120")))
    openai_api_key: str | None = field(default_factory=lambda: os.environ.get("QA_OPENAI_API_KEY") or None)
    # where the index lives: "faiss" (files under index_dir, one process writes) or "postgres"
    # (PostgreSQL + pgvector at store_uri, shared by many processes); see qa.store
    store: str = field(default_factory=lambda: os.environ.get("QA_STORE") or "faiss")
    store_uri: str | None = field(default_factory=lambda: os.environ.get("QA_STORE_URI") or None)
    threads: int = field(default_factory=lambda: int(os.environ.get("QA_THREADS", "2")))
    n_ctx: int = 4096
    parallel_slots: int = field(default_factory=lambda: int(os.environ.get("QA_SLOTS", "1")))
    llama_repack: bool = field(default_factory=lambda: os.environ.get("QA_LLAMA_REPACK", "0") == "1")
    llama_verbosity: int = field(default_factory=lambda: int(os.environ.get("QA_LLAMA_VERBOSITY", "0")))

    # the shells: the web chat's address, and tracebacks instead of one-line errors in the CLI
    host: str = field(default_factory=lambda: os.environ.get("QA_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("QA_PORT", "7860")))
    debug: bool = field(default_factory=lambda: bool(os.environ.get("QA_DEBUG")))

    # chunking
    chunk_max_chars: int = 280
    chunk_overlap_sentences: int = 1

    # retrieval
    dense_k: int = 30
    lexical_k: int = 30
    rrf_k: int = 60
    use_lexical: bool = True
    # Lexical votes count a tenth of dense ones: at equal weight BM25's same-language hits
    # outvote the right cross-lingual passage (dev split recall@4: 0.90 at 1.0, 1.00 at 0.05).
    lexical_weight: float = 0.05
    duplicate_cosine: float = 0.82  # translations of one passage (000/001) score 0.78–0.88
    top_k: int = field(default_factory=lambda: int(os.environ.get("QA_TOP_K", "4")))  # passages retrieved
    # Size limit of the passages given to the generator, in weighted characters (qa.chunking.weight;
    # ~3.7 per prompt token). Prompt processing (~70 tokens/s on 2 cores) sets time to first token.
    # Passages are taken in rank order while they fit; the first always goes in. 0 = no limit.
    # Dev split: no limit (4 passages) fact accuracy 0.63, TTFT ~5 s; 600 → 0.63, 2.8 s;
    # 400 → 0.58, 1.9 s.
    context_budget: int = field(default_factory=lambda: int(os.environ.get("QA_CONTEXT_BUDGET", "600")))

    # Evidence sentences given to the generator (qa.evidence), best first; 0 = whole retrieved
    # passages (the `passages` configuration).
    evidence_sentences: int = field(default_factory=lambda: int(os.environ.get("QA_EVIDENCE_SENTENCES", "4")))

    # each evidence sentence with the sentence before it in its paragraph. Dev split, measured
    # with an earlier (NOT_FOUND) prompt: 3 sentences with context, no budget: fact accuracy 0.558,
    # abstention recall 0.625, TTFT p50 4.0 s; 4 sentences without, budget 600: 0.558, 0.750, 3.8 s.
    # With the current prompt, 4 sentences without context: 0.674; whole passages: 0.581.
    # Dev split (51 items), fact accuracy / abstention recall / false abstention / sentences per
    # question: neither 0.721 / 0.750 / 0.093 / 3.7; margin 0.15 0.674 / 0.750 / 0.070 / 2.5;
    # margin 0.15 + redundancy 0.3 0.674 / 0.875 / 0.047 / 2.6 (the margin cut the sentence naming
    # GPT-3 for a "why" question). The facts reach the evidence as often either way (0.91–0.93),
    # so both stay off until a larger dev set can tell two items from noise.
    # an evidence sentence more than this far below the best one's cosine is left out (None: kept)
    evidence_margin: float | None = field(
        default_factory=lambda: float(v) if (v := os.environ.get("QA_EVIDENCE_MARGIN")) else None)
    # maximal marginal relevance: penalty × cosine to the closest sentence already chosen (0: off)
    evidence_redundancy: float = field(default_factory=lambda: float(os.environ.get("QA_EVIDENCE_REDUNDANCY", "0")))
    evidence_context: bool = field(default_factory=lambda: os.environ.get("QA_EVIDENCE_CONTEXT", "0") == "1")

    # abstention before generation: minimum cosine of the best dense hit
    min_relevance: float | None = None  # None = use qa/calibration.json (qa eval --split dev --calibrate)

    # a question that asks two things is answered part by part (qa.question); QA_SPLIT_QUESTIONS=0: whole.
    # Dev split (51 items), together with clause-level verification and evidence in the reader's
    # language: fact accuracy 0.698 → 0.744, false abstention 0.116 → 0.023 (en-020, en-025, zh-014
    # now right; en-002 lost: its second part "Where is he going?" was answered alone).
    split_questions: bool = field(default_factory=lambda: os.environ.get("QA_SPLIT_QUESTIONS", "1") != "0")

    # generation
    max_tokens: int = field(default_factory=lambda: int(os.environ.get("QA_MAX_TOKENS", "160")))
    temperature: float = 0.0

    # verification
    verify: bool = True
    support_threshold: float | None = None  # None = use the calibrated default in qa.cite
    fallback_cosine: float | None = None  # None = use qa/calibration.json (evidence answer when the model's fails)

    name: str = "default"

    def with_(self, **overrides) -> "Config":
        return replace(self, **overrides)


PRESETS: dict[str, dict] = {
    "default": {},
    "dense-only": {"use_lexical": False},
    "no-verify": {"verify": False},
    # The plain pipeline MEASURED.md describes: top-5 whole chunks, no checks, no abstention.
    "naive": {"verify": False, "top_k": 5, "min_relevance": -1.0, "context_budget": 0, "evidence_sentences": 0,
              "split_questions": False},
    # the answering path before evidence sentences: retrieved passages within the budget
    "passages": {"evidence_sentences": 0},
}


def load_config(name: str = "default", **overrides) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown configuration {name!r}; choose one of: {', '.join(PRESETS)}")
    paths = {k: Path(v).expanduser() for k, v in overrides.items() if k.endswith("_dir") and v is not None}
    return Config().with_(name=name, **PRESETS[name], **{**overrides, **paths})
