"""Bulk ingestion (`qa index --add DIR`): duplicates refused with a reason, per-file errors
listed, a run killed with SIGKILL resumed with nothing lost or indexed twice. The embedder is the
tiny deterministic HashEmbedder: these tests check the bookkeeping, not retrieval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ROOT, HashEmbedder, copy_seeds, tmp_config

from qa.answering.assistant import Assistant
from qa.store.faiss_index import Index
from qa.store.ingest import article_files, ingest
from qa.text.corpus import text_key


def article(n: int) -> str:
    return (
        f"Bericht Nummer {n} aus Lindenau\n\n"
        f"Die Stadtwerke Lindenau haben am Tag {n} eine neue Anlage mit {n * 7} Modulen eröffnet. "
        f"Geschäftsführerin Hanna Vogt sagte, die Anlage Nummer {n} versorge {n * 13} Haushalte.\n"
    )


def assistant_for(root: Path) -> Assistant:
    a = Assistant(tmp_config(root))
    a._embedder = HashEmbedder()
    return a


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy_seeds(tmp_path / "seeds")
    return tmp_path


def test_ingest_adds_reports_duplicates_and_errors(root: Path):
    folder = root / "incoming"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(article(1), encoding="utf-8")
    (folder / "b.md").write_text(article(2), encoding="utf-8")
    (folder / "sub" / "c.txt").write_text(article(3), encoding="utf-8")
    (folder / "a-copy.txt").write_bytes(article(1).replace("\n", "\r\n").encode("utf-8"))  # same text
    (folder / "empty.txt").write_bytes(b"")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")  # an article file type, but no PDF in it: listed as failed
    (folder / "notes.json").write_text("{}")  # not an article file: ignored
    assert [p.name for p in article_files(folder)] == ["a-copy.txt", "a.txt", "b.md", "empty.txt", "notes.pdf", "c.txt"]

    assistant = assistant_for(root)
    before = len(assistant.store.document_ids())
    report = ingest(assistant.add_document, folder, progress=False)
    assert sorted(name for name, _ in report.added) == sorted(["a-copy.txt", "b.md", "sub/c.txt"])
    assert [name for name, _ in report.duplicates] == ["a.txt"]
    assert "already indexed" in report.duplicates[0][1]
    assert [name for name, _ in report.errors] == ["empty.txt", "notes.pdf"] and "empty" in report.errors[0][1]
    assert "notes.pdf is not a readable PDF" in report.errors[1][1]
    assert len(assistant.store.document_ids()) == before + 3
    assert "added 3, already indexed 1, failed 2" in report.summary()

    again = ingest(assistant_for(root).add_document, folder, progress=False)  # a fresh process: resumes
    assert again.added == [] and len(again.duplicates) == 4 and len(again.errors) == 2
    assert len(Index.load(root / "index").docs) == before + 3


def test_a_killed_ingestion_resumes_with_nothing_lost_or_doubled(root: Path):
    folder = root / "incoming"
    folder.mkdir()
    n = 24
    for i in range(n):
        (folder / f"report_{i:03d}.txt").write_text(article(100 + i), encoding="utf-8")
    assert assistant_for(root).store.count()  # the seed index exists before the run
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from pathlib import Path
        from conftest import HashEmbedder, tmp_config
        from qa.answering.assistant import Assistant
        from qa.store.ingest import ingest
        a = Assistant(tmp_config(Path({str(root)!r})))
        a._embedder = HashEmbedder()
        ingest(a.add_document, Path({str(folder)!r}), progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    uploads = root / "uploads"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if uploads.is_dir() and len(list(uploads.glob("*.txt"))) >= 5:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done_before = len(list(uploads.glob("*.txt")))
    assert done_before < n

    report = ingest(assistant_for(root).add_document, folder, progress=False)  # resume
    assert not report.errors
    assert len(report.added) + len(report.duplicates) == n and len(report.added) <= n - done_before + 1
    index = Index.load(root / "index")
    uploaded = [d for d in index.docs.values() if d.id.startswith("upload_")]
    assert len(uploaded) == n  # every article once: none lost, none twice
    assert len({text_key(d.text) for d in uploaded}) == n
    assert {c.doc_id for c in index.chunks} == set(index.docs) == {s.doc_id for s in index.sentences}
