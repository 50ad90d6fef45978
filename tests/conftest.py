"""Shared fixtures: temporary corpus copies, a tiny deterministic embedder, one real built index.

Nothing here writes to the real ``seeds/`` or ``index/``: every test gets copies under tmp_path
and points the configuration at them with ``load_config(seeds_dir=..., index_dir=..., ...)``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
REAL_INDEX = ROOT / "index"

# A short fictional article, unlike every seed, for tests that add a document.
ARTICLE_DE = """Lindenau eröffnet Solarpark am Stadtrand

2025-03-14

Die Stadtwerke Lindenau haben am Freitag einen neuen Solarpark am nördlichen Stadtrand in Betrieb genommen.
Die Anlage besteht aus 18.400 Modulen und soll jährlich rund 11 Gigawattstunden Strom erzeugen.

Nach Angaben von Geschäftsführerin Hanna Vogt reicht das für etwa 4.200 Haushalte.
Der Bau dauerte vierzehn Monate und kostete 9,5 Millionen Euro, von denen das Land Sachsen 2 Millionen übernahm.

Auf den Flächen zwischen den Modulreihen weiden künftig Schafe eines örtlichen Schäfers.
Kritik kam von einer Bürgerinitiative, die den Verlust von Ackerland beklagt.
Die Stadtwerke planen bis 2028 zwei weitere Anlagen und einen Batteriespeicher am Umspannwerk Ost.
"""


from qa.models.hash_embedder import HashEmbedder  # noqa: E402,F401  (tests import it from here)


def copy_seeds(dest: Path) -> Path:
    """The seed articles (not gold.jsonl) copied into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(SEEDS.glob("*.txt")):
        shutil.copy2(path, dest / path.name)
    return dest


def tmp_config(root: Path, **overrides):
    from qa.config import load_config

    return load_config(seeds_dir=root / "seeds", uploads_dir=root / "uploads", index_dir=root / "index", **overrides)


@pytest.fixture
def corpus_root(tmp_path: Path) -> Path:
    """tmp_path/seeds holds a copy of the seed articles; index/ and uploads/ do not exist yet."""
    copy_seeds(tmp_path / "seeds")
    return tmp_path


@pytest.fixture(scope="session")
def built_root(tmp_path_factory) -> Path:
    """A seeds copy with a real (EmbeddingGemma) index, built once per session. Tests that change
    it must copy it first (``real_root``). The real index/ is only read, as a head start: when it
    fits the seeds copy it is reused; otherwise load_or_build_store rebuilds it here (~1 min)."""
    from qa.config import load_config  # noqa: F401  (imported here: collection stays light)
    from qa.models.embedder import make_embedder
    from qa.store.build import load_or_build_store
    from qa.store.faiss_index import Index, IndexError_

    root = tmp_path_factory.mktemp("built")
    copy_seeds(root / "seeds")
    try:
        live = Index.load(REAL_INDEX)
        gen = (REAL_INDEX / "CURRENT").read_text().strip()
        shutil.copytree(REAL_INDEX / gen, root / "index" / gen)
        (root / "index" / "CURRENT").write_text(gen)
        del live
    except (IndexError_, OSError):
        shutil.rmtree(root / "index", ignore_errors=True)
    cfg = tmp_config(root)
    load_or_build_store(cfg, make_embedder(cfg))
    return root


@pytest.fixture
def real_root(tmp_path: Path, built_root: Path) -> Path:
    """A private copy of ``built_root`` (seeds + built index) that a test may change."""
    for name in ("seeds", "index"):
        shutil.copytree(built_root / name, tmp_path / name)
    return tmp_path


def tree(path: Path) -> dict[str, bytes]:
    """Every file under `path` with its content (empty when `path` does not exist)."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(
    tmp: Path, env: dict[str, str] | None = None, drop: tuple[str, ...] = (), wait: float = 180
) -> Iterator[tuple[str, int, Path]]:
    """`python ui.py` on a free port with a temporary index (a copy of the project's, when there
    is one: the original is never written) and uploads folder; yields (url, port, log path) as
    soon as the page is served (the models may still be loading) and stops the app after."""
    import httpx

    index_dir = tmp / "index"
    try:
        if not index_dir.exists():  # a caller may have put an index there (e.g. a copy of built_root's)
            shutil.copytree(REAL_INDEX, index_dir)
    except OSError:  # no index yet, or it changed while copying: the app builds its own
        shutil.rmtree(index_dir, ignore_errors=True)
    environ = {k: v for k, v in os.environ.items() if k not in drop}
    environ.update(
        QA_INDEX_DIR=str(index_dir),
        QA_UPLOADS_DIR=str(tmp / "uploads"),
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONUNBUFFERED="1",
        **(env or {}),
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "ui.py"), "--port", str(port)],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + wait
        while True:
            if proc.poll() is not None:
                pytest.fail(f"ui.py exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"ui.py did not serve the page within {wait:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, port, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(client, timeout: float = 900) -> dict:
    """Poll the app's /status until the models are loaded. A poll that times out (the app is
    busy loading models on a loaded machine) is retried until the deadline, not a failure."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            status = client.predict(api_name="/status")
        except httpx.TimeoutException:
            status = {"state": "loading"}
        if status["state"] != "loading":
            assert status["ready"], f"loading failed: {status['message']}"
            return status
        assert time.monotonic() < deadline, "the models did not load in time"
        time.sleep(1)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A real PostgreSQL with pgvector (the pgserver wheel bundles both), started in a temporary
    folder for this test session and stopped at its end. Yields the server's URI."""
    import pgserver  # a test dependency (pyproject [test]): missing means a broken install, not a skip

    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture
def pg_database(pg_server):
    """A function that makes a new empty database on the session's server and returns its URI."""
    import secrets

    import psycopg

    def make() -> str:
        name = f"t_{secrets.token_hex(4)}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return pg_server.replace("/postgres?", f"/{name}?", 1)

    return make
