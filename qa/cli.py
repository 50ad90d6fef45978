"""The `qa` command: a thin shell over the library.

    qa ask "question" [--json]      answer one question
    qa index [--rebuild]            build the index if missing or stale (or always)
    qa models fetch | verify        download + verify the models / re-check their sha256
    qa eval ...                     evaluate against the gold set (see qa.evaluate)
    qa bench ...                    speed and memory benchmark (see qa.bench)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _ask(args) -> int:
    from qa.answering.assistant import Assistant, clean_question
    from qa.config import load_config
    from qa.models.generator import GenerationError

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
    from qa.store.base import documents_of
    from qa.types import SourcesFound, TextDelta

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
    print(f"  ({result.timings.get('total', 0):.1f} s" + (f"; models loaded in {load:.1f} s" if load else "") + ")",
          file=sys.stderr)
    return 0


def _index(args) -> int:
    from qa.config import load_config
    from qa.models.embedder import make_embedder
    from qa.store.faiss_index import load_or_build

    cfg = load_config()
    if cfg.store != "faiss":
        return _index_store(cfg, args)
    if args.add:
        from qa.answering.assistant import Assistant
        from qa.store.ingest import ingest

        report = ingest(Assistant(cfg), Path(args.add))
        print(report.summary())
        return 1 if report.errors else 0
    index = load_or_build(cfg, make_embedder(cfg), rebuild=args.rebuild)
    print(f"index: {len(index.docs)} articles, {len(index.chunks)} chunks in {cfg.index_dir}")
    return 0


def _index_store(cfg, args) -> int:
    """`qa index [--add DIR]` on a shared store (QA_STORE=postgres)."""
    from qa.models.embedder import make_embedder
    from qa.store.ingest import StoreWriter, ingest
    from qa.store.base import load_or_build_store

    embedder = make_embedder(cfg)
    store = load_or_build_store(cfg, embedder, rebuild=args.rebuild)
    if args.add:
        report = ingest(StoreWriter(store, embedder, cfg), Path(args.add))
        print(report.summary())
        return 1 if report.errors else 0
    print(f"index: {len(store.document_ids())} articles, {store.count()} chunks in the {cfg.store} store")
    return 0


def _models(args) -> int:
    from qa.config import load_config
    from qa.models.weights import REGISTRY, ModelStore

    cfg = load_config()
    store = ModelStore(cfg.models_dir)
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
    p.add_argument("--add", metavar="DIR", help="add every article file under DIR: .txt .md .html .htm .pdf .docx (resumable)")
    p.set_defaults(func=_index)

    p = sub.add_parser("models", help="fetch or verify the models")
    p.add_argument("action", choices=["fetch", "verify"])
    p.set_defaults(func=_models)

    from qa.measure import bench

    from qa.measure import evaluate

    evaluate.add_arguments(sub.add_parser("eval", help="evaluate against a gold set"))
    bench.add_arguments(sub.add_parser("bench", help="measure speed and memory"))

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a clear message instead of a traceback; QA_DEBUG=1 shows it
        from qa.config import load_config

        if load_config().debug:
            raise
        print(f"qa: {err.__class__.__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
