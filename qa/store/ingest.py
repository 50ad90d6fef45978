"""Bulk ingestion (`qa index --add DIR`): every article file under a folder (.txt, .md, .html,
.htm, .pdf, .docx: qa.text.formats) added to the index, one article at a time.

Each article goes through the one add path (qa.store.build.ArticleWriter, or
``Assistant.add_document`` which uses it): it is embedded and added in one store write (with
FAISS: written to the uploads folder, and a new generation saved) before the next one starts,
so a killed run loses at most the article in flight and leaves nothing half-indexed. Running
the same command again resumes: articles already indexed are recognised (same text) and
reported as such, not added twice. A file that cannot be used is listed with the reason, and the run goes
on with the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from qa.text.corpus import CorpusError, DuplicateError
from qa.text.formats import SUFFIXES, check_upload


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


def ingest(add: Callable[[str, bytes], str], folder: Path, progress: bool = True) -> IngestReport:
    """Every article file under `folder` through `add` (file name, bytes → document id: an
    ArticleWriter's add or Assistant.add_document), with a progress bar; what was added, what
    was already indexed and what failed, each with its reason."""
    report = IngestReport()
    files = article_files(folder)
    for path in tqdm(files, desc="indexing", unit="article", disable=not progress):
        name = str(path.relative_to(folder))
        try:
            check_upload(path.name, path.stat().st_size)  # an oversized file is not read
            report.added.append((name, add(path.name, path.read_bytes())))
        except DuplicateError as err:
            report.duplicates.append((name, str(err)))
        except (CorpusError, OSError) as err:
            report.errors.append((name, str(err)))
    return report
