"""The PostgreSQL store's indexes, at small sizes on a real server (pgserver)."""

from __future__ import annotations

from pathlib import Path

from qa.store import base_manifest
from qa.store_postgres import PostgresStore

from conftest import tmp_config

DIM = 16


def new_store(tmp_path: Path, uri: str, **thresholds) -> PostgresStore:
    store = PostgresStore(uri, **thresholds)
    store.reset(base_manifest(tmp_config(tmp_path), "synthetic", DIM))
    return store


def test_chunks_are_indexed_by_article(tmp_path: Path, pg_database):
    store = new_store(tmp_path, pg_database())
    columns = store.conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'qa_chunks_doc'").fetchone()
    assert columns and "(doc_id, pos)" in columns[0]
