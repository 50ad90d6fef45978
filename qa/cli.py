"""The `qa` command: a thin shell over the library.

qa ask "question" [--json]      answer one question
qa index [--rebuild]            build the index if missing or stale (or always)
qa models fetch | verify        download + verify the models / re-check their sha256
qa eval ...                     evaluate against the gold set (see qa.measure.evaluate)
qa bench ...                    speed and memory benchmark (see qa.measure.bench)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from qa.answering.assistant import Assistant
from qa.answering.inputs import clean_question
from qa.config import load_config
from qa.measure import bench, evaluate
from qa.models.embedder import make_embedder
from qa.models.generator import GenerationError
from qa.models.weights import REGISTRY, ModelStore
from qa.store.base import documents_of
from qa.store.build import ArticleWriter, load_or_build_store
from qa.store.ingest import ingest
from qa.types import SourcesFound, TextDelta

# read by the tokenizers library when it first parallelises (after these imports, which load no model)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _ask(args) -> int:
    try:
        clean_question(args.question)
    except ValueError as err:
        print(f"qa: {err}", file=sys.stderr)
        return 2
    assistant = Assistant(load_config(args.config))
    try:
        return _answer(assistant, args)
    except GenerationError as err:
        print(f"\nqa: the answer could not be written: {err}", file=sys.stderr)
        return 1


def _answer(assistant, args) -> int:
    if args.json:
        print(json.dumps(assistant.answer(args.question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    result = None
    print("searching…", end="", flush=True, file=sys.stderr)
    for item in assistant.stream(args.question):
        if isinstance(item, SourcesFound):
            titles = [d.title for d in documents_of(assistant.store, (p.doc_id for p in item.passages)).values()]
            print(f" found in: {'; '.join(titles) or '(nothing)'}", file=sys.stderr, flush=True)
        elif isinstance(item, TextDelta):
            print(item.text, end="", flush=True, file=sys.stderr)
        else:
            result = item
    print(file=sys.stderr)
    print(result.text)
    for c in result.citations:
        print(f"  [{c.n}] {c.doc_id} ({c.lang}): {' '.join(c.quote.split())}")
    load = result.timings.get("load")
    print(
        f"  ({result.timings.get('total', 0):.1f} s" + (f"; models loaded in {load:.1f} s" if load else "") + ")",
        file=sys.stderr,
    )
    return 0


def _index(args) -> int:
    """`qa index [--rebuild] [--add DIR]`, either store: built when missing or stale, then every
    article under DIR added through the one add path (with FAISS the files are kept in the
    uploads folder, from which the index is rebuilt; a shared PostgreSQL store keeps them itself)."""
    cfg = load_config()
    embedder = make_embedder(cfg)
    store = load_or_build_store(cfg, embedder, rebuild=args.rebuild)
    if args.add:
        writer = ArticleWriter(store, embedder, cfg, cfg.paths.uploads_dir if cfg.store.engine == "faiss" else None)
        report = ingest(writer.add, Path(args.add))
        print(report.summary())
        return 1 if report.errors else 0
    where = cfg.paths.index_dir if cfg.store.engine == "faiss" else f"the {cfg.store.engine} store"
    print(f"index: {len(store.document_ids())} articles, {store.count()} chunks in {where}")
    return 0


def _models(args) -> int:
    cfg = load_config()
    store = ModelStore(cfg.paths.models_dir)
    failed = False
    for spec in REGISTRY.values():
        if args.action == "fetch":
            print(f"{spec.key}: ready at {store.path(spec)} ({spec.license})")
        else:
            state = store.verify(spec)
            failed |= state != "ok"
            print(f"{spec.key}: {state}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa", description="Cited answers about the articles in seeds/")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ask", help="answer a question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the full Answer as JSON")
    p.add_argument("--config", default="default", help="a named configuration (default, naive, …)")
    p.set_defaults(func=_ask)

    p = sub.add_parser("index", help="build the index when missing or stale")
    p.add_argument("--rebuild", action="store_true", help="rebuild even when fresh")
    p.add_argument(
        "--add", metavar="DIR", help="add every article file under DIR: .txt .md .html .htm .pdf .docx (resumable)"
    )
    p.set_defaults(func=_index)

    p = sub.add_parser("models", help="fetch or verify the models")
    p.add_argument("action", choices=["fetch", "verify"])
    p.set_defaults(func=_models)

    evaluate.add_arguments(sub.add_parser("eval", help="evaluate against a gold set"))
    bench.add_arguments(sub.add_parser("bench", help="measure speed and memory"))

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a clear message instead of a traceback; QA_DEBUG=1 shows it
        if load_config().runtime.debug:
            raise
        print(f"qa: {err.__class__.__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
