"""Index integrity: interrupted writes, corrupted files and a changed embedding model are detected,
reported and repaired by a rebuild; the index and the embedding model are never mixed up.

Most tests use ``HashEmbedder`` (conftest), a tiny deterministic stand-in, because what is under
test is the bookkeeping of ``qa.store.faiss_index`` (generations, manifest, checksums, staleness), not
retrieval quality. The e2e test repeats the kill test with the real embedder and the real
``Assistant.add_document`` path.
"""

from __future__ import annotations

import json
import queue
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ARTICLE_DE, ROOT, HashEmbedder, copy_seeds, tmp_config, tree

from qa.store.build import load_or_build_store
from qa.store.embedding import add_article
from qa.store.faiss_index import DATA_FILES, Index, IndexError_
from qa.store.faiss_store import FaissStore
from qa.text.corpus import CorpusError, corpus_dirs, corpus_hashes, make_document

TESTS = Path(__file__).resolve().parent
EXTRA = (
    "Die Stadtwerke Lindenau haben am Montag ein neues Solarkraftwerk in Betrieb genommen. "
    "Die Anlage liefert nach Angaben des Unternehmens Strom für rund 4.200 Haushalte. "
    "Der Bau dauerte vierzehn Monate und kostete 9,5 Millionen Euro.\n"
)


def assert_consistent(index: Index, cfg=None) -> None:
    """Chunk count = vectors = FAISS ntotal = manifest; documents = manifest; chunks are slices."""
    m = index.manifest
    assert len(index.chunks) == len(index.vectors) == index.dense.ntotal == m["chunks"]
    assert index.vectors.shape[1] == m["dim"] == index.dense.d
    assert set(index.docs) == set(m["docs"])
    assert all(c.doc_id in index.docs for c in index.chunks)
    for c in index.chunks:
        assert index.docs[c.doc_id].text[c.start : c.end] == c.text
    assert index.by_id == {c.id: i for i, c in enumerate(index.chunks)}
    if cfg is not None:  # fresh for this corpus and embedder
        assert m["docs"] == corpus_hashes(corpus_dirs(cfg))


def generation(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hash-index")
    copy_seeds(root / "seeds")
    load_or_build_store(tmp_config(root), HashEmbedder(), log=lambda msg: None)
    return root


@pytest.fixture
def built(tmp_path: Path, built_once: Path):
    """(cfg, embedder, index): a private copy of a seeds copy indexed with HashEmbedder."""
    for name in ("seeds", "index"):
        shutil.copytree(built_once / name, tmp_path / name)
    cfg = tmp_config(tmp_path)
    embedder = HashEmbedder()
    messages: list[str] = []
    index = load_or_build_store(cfg, embedder, log=messages.append).index
    assert messages == []  # the copy is fresh
    return cfg, embedder, index


def test_build_save_load_roundtrip(built):
    cfg, embedder, index = built
    loaded = Index.load(cfg.paths.index_dir)
    assert_consistent(loaded, cfg)
    assert [c.id for c in loaded.chunks] == [c.id for c in index.chunks]
    assert np.array_equal(loaded.vectors, index.vectors)
    assert loaded.staleness(cfg, embedder.fingerprint, corpus_hashes(corpus_dirs(cfg))) is None
    messages: list[str] = []
    load_or_build_store(cfg, embedder, log=messages.append)
    assert messages == []  # fresh: loaded, not rebuilt


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_manifest(change):
    def apply(gen: Path) -> None:
        manifest = json.loads((gen / "manifest.json").read_text())
        change(manifest)
        (gen / "manifest.json").write_text(json.dumps(manifest))

    return apply


DAMAGE = {
    "vectors.npy truncated": lambda gen: _truncate(gen / "vectors.npy"),
    "chunks.jsonl truncated": lambda gen: _truncate(gen / "chunks.jsonl"),
    "docs.jsonl truncated": lambda gen: _truncate(gen / "docs.jsonl"),
    "dense.faiss byte flipped": lambda gen: _flip(gen / "dense.faiss"),
    "vectors.npy deleted": lambda gen: (gen / "vectors.npy").unlink(),
    "checksum mismatch in manifest": _edit_manifest(lambda m: m["files"].update({"vectors.npy": "0" * 64})),
    "manifest lists no checksums": _edit_manifest(lambda m: m.pop("files")),
    "manifest chunk count wrong": _edit_manifest(lambda m: m.update(chunks=m["chunks"] + 1)),
    "manifest dim wrong": _edit_manifest(lambda m: m.update(dim=m["dim"] * 2)),
    "manifest article list wrong": _edit_manifest(lambda m: m["docs"].pop(sorted(m["docs"])[0])),
    "manifest.json truncated": lambda gen: _truncate(gen / "manifest.json"),
    "manifest.json not an object": lambda gen: (gen / "manifest.json").write_text("[]"),
    "CURRENT names a missing generation": lambda gen: (gen.parent / "CURRENT").write_text("g-missing"),
    "CURRENT points outside the index": lambda gen: (gen.parent / "CURRENT").write_text("../../etc"),
    "CURRENT empty": lambda gen: (gen.parent / "CURRENT").write_text(""),
    "CURRENT deleted": lambda gen: (gen.parent / "CURRENT").unlink(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_index_is_detected_and_rebuilt(built, damage):
    cfg, embedder, index = built
    DAMAGE[damage](
        generation(cfg.paths.index_dir) if (cfg.paths.index_dir / "CURRENT").exists() else cfg.paths.index_dir
    )
    with pytest.raises(IndexError_) as err:
        Index.load(cfg.paths.index_dir)
    assert str(err.value)  # says what is wrong
    messages: list[str] = []
    rebuilt = load_or_build_store(cfg, embedder, log=messages.append).index
    assert messages and messages[0].startswith("building the index: ")
    assert str(err.value) in messages[0]
    assert_consistent(rebuilt, cfg)
    assert_consistent(Index.load(cfg.paths.index_dir), cfg)
    assert [c.id for c in rebuilt.chunks] == [c.id for c in index.chunks]


def embedded_texts(index, doc_ids=None) -> int:
    """How many distinct texts the chunks and sentence units of these articles embed (a
    one-sentence chunk and its sentence embed the same text, once)."""
    from qa.text.chunking import embedding_text

    units = [u for u in index.chunks + index.sentences if doc_ids is None or u.doc_id in doc_ids]
    return len({embedding_text(index.docs[u.doc_id], u) for u in units})


def test_index_of_another_embedder_is_stale_and_rebuilt(built):
    """An index never serves a different embedding model: other fingerprint → rebuilt, and no
    vector of the old model is reused."""
    cfg, embedder, index = built
    other = HashEmbedder(fingerprint="another-model", dim=24)
    assert (
        index.staleness(cfg, other.fingerprint, corpus_hashes(corpus_dirs(cfg)))
        == "it was built with another embedding model"
    )
    messages: list[str] = []
    rebuilt = load_or_build_store(cfg, other, log=messages.append).index
    assert messages[0] == "building the index: it was built with another embedding model"
    assert_consistent(rebuilt, cfg)
    assert rebuilt.manifest["embed_fingerprint"] == "another-model"
    assert rebuilt.manifest["embedded"] == embedded_texts(rebuilt)  # nothing reused across models
    assert len(rebuilt.sentence_vectors) == len(rebuilt.sentences) > len(rebuilt.docs)
    assert rebuilt.vectors.shape[1] == 24
    fresh = Index.build(list(rebuilt.docs.values()), HashEmbedder(fingerprint="another-model", dim=24), cfg)
    assert np.array_equal(rebuilt.vectors, fresh.vectors)  # exactly what the new model makes
    # and back: the first model's index is not confused with the second's either
    again: list[str] = []
    assert_consistent(load_or_build_store(cfg, embedder, log=again.append).index, cfg)
    assert again[0] == "building the index: it was built with another embedding model"


def test_configured_model_name_is_checked_too(built):
    cfg, embedder, index = built
    other_cfg = cfg.with_(embedder__model="hf:someone/another-embedder")
    assert index.staleness(other_cfg, embedder.fingerprint, corpus_hashes(corpus_dirs(cfg))) is not None


def test_changed_chunking_or_corpus_is_stale(built):
    cfg, embedder, index = built
    hashes = corpus_hashes(corpus_dirs(cfg))
    assert (
        index.staleness(cfg.with_(chunk_max_chars=cfg.store.chunk_max_chars + 40), embedder.fingerprint, hashes)
        == "the chunker or its settings changed"
    )
    (cfg.paths.seeds_dir / "extra.txt").write_text(EXTRA, encoding="utf-8")
    reason = index.staleness(cfg, embedder.fingerprint, corpus_hashes(corpus_dirs(cfg)))
    assert reason is not None and "extra" in reason
    messages: list[str] = []
    grown = load_or_build_store(cfg, embedder, log=messages.append).index
    assert_consistent(grown, cfg)
    new = [c for c in grown.chunks if c.doc_id == "extra"]
    # unchanged chunks and sentences reuse their vectors
    assert new and grown.manifest["embedded"] == embedded_texts(grown, {"extra"})


def test_non_utf8_seed_is_not_rebuilt_on_every_load(corpus_root):
    """The manifest records file hashes, so an article stored as GB18030 stays fresh."""
    cfg = tmp_config(corpus_root)
    zh = cfg.paths.seeds_dir / "003_fa89097a72b77a95.txt"
    zh.write_bytes(zh.read_text(encoding="utf-8").encode("gb18030"))
    embedder = HashEmbedder()
    first = load_or_build_store(cfg, embedder, log=lambda m: None).index
    assert_consistent(first, cfg)
    messages: list[str] = []
    load_or_build_store(cfg, embedder, log=messages.append)
    assert messages == []


# -- killed writers ----------------------------------------------------------------------------
# The writer runs in a child process that is SIGKILLed at a random moment. Half of the kills
# fall anywhere in the run, half shortly after the child announces a save (the critical window,
# ~50 ms). Saves are atomic (new generation, then CURRENT replaced), so the live index must
# always load; the repair path (IndexError_ → rebuild) is covered by the damage tests above.
WRITER = textwrap.dedent("""
    import itertools, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import HashEmbedder, tmp_config
    from qa.text.corpus import make_document
    from qa.store.build import load_or_build_store
    from qa.store.embedding import embed_article
    from qa.store.faiss_index import Index
    cfg = tmp_config(Path({root!r}))
    embedder = HashEmbedder()
    extra = {extra!r}
    print("ready", flush=True)
    for i in itertools.count():
        if i % 8 == 0:  # a full build (vectors reused, everything rewritten)
            load_or_build_store(cfg, embedder, rebuild=True, log=lambda m: None)
        else:  # an incremental add to the live index
            index = Index.load(cfg.paths.index_dir)
            doc = make_document(f"added{{i}}", extra + str(i), "")
            index = index.with_units(doc, *embed_article(doc, embedder, cfg))
            print("saving", flush=True)
            index.save(cfg.paths.index_dir)
""")


def _kill_at_random(cmd: list[str], delay: float, after: str, timeout: float = 180) -> list[str]:
    """Start `cmd`, wait for the line `after`, sleep `delay`, SIGKILL; return what it printed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout] and None, daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + timeout
        while after not in seen and proc.poll() is None and time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                continue
        if after in seen:
            time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        err = proc.stderr.read()
        proc.wait(timeout=60)
    assert after in seen, f"the writer never printed {after!r}: {err[-2000:]}"
    # Killed mid-write, or (on a fast machine) already done before the kill landed: both must
    # leave an index that loads consistent, which the caller checks; anything else is a failure.
    assert proc.returncode in (-signal.SIGKILL, 0), f"the writer failed by itself ({proc.returncode}): {err[-2000:]}"
    return seen


def _check_after_kill(cfg, embedder, note: str) -> str:
    """Either the live index loads complete and consistent, or loading fails with IndexError_
    and load_or_build_store rebuilds it with a message. Returns which of the two happened."""
    try:
        index = Index.load(cfg.paths.index_dir)
    except IndexError_ as err:
        messages: list[str] = []
        rebuilt = load_or_build_store(cfg, embedder, log=messages.append).index
        assert messages and str(err) in messages[0], f"{note}: no rebuild message ({messages})"
        assert_consistent(rebuilt, cfg)
        return "rebuilt"
    assert_consistent(index)
    assert set(DATA_FILES) <= set(index.manifest["files"]), note
    return "loaded"


@pytest.mark.slow  # 16 rounds of a writer killed at random: ~50 s on a quiet machine
def test_killed_writer_never_leaves_a_broken_index(corpus_root):
    cfg = tmp_config(corpus_root)
    embedder = HashEmbedder()
    load_or_build_store(cfg, embedder, log=lambda m: None)
    script = WRITER.format(tests=str(TESTS), root=str(corpus_root), extra=EXTRA)
    rng = random.Random()
    for round_ in range(16):
        if round_ % 2 == 0:
            after, delay = "ready", rng.uniform(0.0, 6.0)
        else:
            after, delay = "saving", rng.uniform(0.0, 0.03)
        note = f"round {round_}: killed {delay:.3f} s after {after!r}"
        _kill_at_random([sys.executable, "-c", script], delay, after)
        outcome = _check_after_kill(cfg, embedder, note)
        print(f"{note}: index {outcome}")
        assert outcome == "loaded", f"{note}: CURRENT was left on an incomplete generation"
    # usable for the corpus (the writer's additions are not corpus files, so this may rebuild),
    # and the leftovers of interrupted writes are removed by the next save
    assert_consistent(load_or_build_store(cfg, embedder, log=lambda m: None).index, cfg)
    load_or_build_store(cfg, embedder, rebuild=True, log=lambda m: None)
    names = [p.name for p in cfg.paths.index_dir.iterdir() if p.is_dir()]
    assert names == [generation(cfg.paths.index_dir).name], names


# -- the same with the real embedder and the product's add_document ------------------------------
REAL_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import tmp_config
    from qa.answering.assistant import Assistant
    from qa.store.build import load_or_build_store
    root = Path({root!r})
    assistant = Assistant(tmp_config(root), log=lambda m: None)
    assistant.embedder, assistant.store  # load the model and the index first
    print("ready", flush=True)
    if {mode!r} == "build":  # a new seed article: rebuild, embedding its chunks
        (root / "seeds" / "zz_new.txt").write_text({article!r}, encoding="utf-8")
        load_or_build_store(assistant.cfg, assistant.embedder, log=lambda m: None)
    else:
        assistant.add_document("neu.txt", {article!r}.encode())
    print("done", flush=True)
""")


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["build", "add"])
def test_killed_real_build_and_add(real_root, mode):
    from qa.models.embedder import make_embedder

    cfg = tmp_config(real_root)
    embedder = make_embedder(cfg)
    rng = random.Random()
    for round_ in range(2):
        for path in (cfg.paths.seeds_dir / "zz_new.txt", *cfg.paths.uploads_dir.glob("*")):
            path.unlink(missing_ok=True)  # each round starts from the seeds only
        load_or_build_store(cfg, embedder, log=lambda m: None)
        delay = rng.uniform(0.0, 8.0)
        note = f"{mode} round {round_}: killed {delay:.2f} s after 'ready'"
        script = REAL_WRITER.format(tests=str(TESTS), root=str(real_root), mode=mode, article=ARTICLE_DE)
        out = _kill_at_random([sys.executable, "-c", script], delay, "ready", timeout=300)
        outcome = _check_after_kill(cfg, embedder, note)
        print(f"{note}: {'finished' if 'done' in out else 'interrupted'}, index {outcome}")
        assert_consistent(load_or_build_store(cfg, embedder, log=lambda m: None).index, cfg)
        assert_consistent(Index.load(cfg.paths.index_dir), cfg)


def test_duplicate_with_other_line_endings_is_refused(built):
    cfg, embedder, index = built
    seed = index.docs["000_39e5384918818fe2"]
    copy = make_document("copy", "\ufeff" + seed.text.replace("\n", "\r\n") + "\n\n", "")
    with pytest.raises(CorpusError, match="already indexed as 000_39e5384918818fe2"):
        add_article(FaissStore(cfg.paths.index_dir), copy, embedder, cfg)


def test_seed_folder_with_two_copies_of_an_article_is_refused(corpus_root):
    cfg = tmp_config(corpus_root)
    embedder = HashEmbedder()
    load_or_build_store(cfg, embedder, log=lambda m: None)
    before = tree(cfg.paths.index_dir)
    text = (cfg.paths.seeds_dir / "003_fa89097a72b77a95.txt").read_text(encoding="utf-8")
    (cfg.paths.seeds_dir / "copy_in_gb18030.txt").write_bytes(text.encode("gb18030"))
    with pytest.raises(CorpusError, match="repeats the article"):
        load_or_build_store(cfg, embedder, log=lambda m: None)
    assert tree(cfg.paths.index_dir) == before
