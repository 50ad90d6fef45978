"""Bulk ingestion: every article file under a folder (.txt, .md, .html, .htm, .pdf, .docx:
qa.formats) added to the index, one article at a time.

Each article goes through ``Assistant.add_document``: it is embedded, written to the uploads
folder and the index is saved as a new generation before the next one starts, so a killed run
loses at most the article in flight and leaves nothing half-indexed. Running the same command
again resumes: articles already indexed are recognised (same bytes or same text) and reported
as such, not added twice. A file that cannot be used is listed with the reason, and the run goes
on with the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.formats import SUFFIXES, check_upload, extract
from qa.store.base import add_article
from qa.text.corpus import CorpusError, DuplicateError, make_document


@dataclass
class IngestReport:
    added: list[tuple[str, str]] = field(default_factory=list)  # (file, document id)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, why)

    def summary(self) -> str:
        lines = [f"added {len(self.added)}, already indexed {len(self.duplicates)}, failed {len(self.errors)}"]
        lines += [f"  failed: {name}: {why}" for name, why in self.errors]
        return "\n".join(lines)


def article_files(folder: Path) -> list[Path]:
    """The article files under `folder`, in a stable order (so a resumed run goes the same way)."""
    if not folder.is_dir():
        raise CorpusError(f"{folder} is not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def ingest(assistant, folder: Path, progress: bool = True) -> IngestReport:
    from tqdm import tqdm

    report = IngestReport()
    files = article_files(folder)
    for path in tqdm(files, desc="indexing", unit="article", disable=not progress):
        name = str(path.relative_to(folder))
        try:
            check_upload(path.name, path.stat().st_size)  # an oversized file is not read
            report.added.append((name, assistant.add_document(path.name, path.read_bytes())))
        except DuplicateError as err:
            report.duplicates.append((name, str(err)))
        except (CorpusError, OSError) as err:
            report.errors.append((name, str(err)))
    return report


class StoreWriter:
    """What `ingest` adds articles through when the index is a shared store (QA_STORE=postgres):
    the article is chunked, embedded and added in one store transaction; no uploads folder is
    written (other processes, possibly on other machines, read the article from the store)."""

    def __init__(self, store, embedder, cfg):
        self.store, self.embedder, self.cfg = store, embedder, cfg
        self.taken = store.document_ids()  # ids in use; another writer's new ones are found on conflict

    def add_document(self, name: str, data: bytes) -> str:
        stem = re.sub(r"[^\w.-]+", "_", Path(name).stem, flags=re.UNICODE).strip("._")[:80] or "upload"
        found = extract(name, data)  # the original name, type and metadata are kept on the Document
        for attempt in range(2):
            doc_id, n = f"upload_{stem}", 2
            while doc_id in self.taken:
                doc_id, n = f"upload_{stem}_{n}", n + 1
            doc = make_document(doc_id, found.text, name, **found.metadata())
            try:
                add_article(self.store, doc, self.embedder, self.cfg)
            except DuplicateError:
                raise
            except CorpusError:  # the id was taken by another writer since: look again, once
                if attempt:
                    raise
                self.taken = self.store.document_ids()
                continue
            self.taken.add(doc_id)
            return doc_id
        raise AssertionError("unreachable")
