"""Which embedding runtime runs: the verified ONNX export, or PyTorch (the choice is logic only,
tested here without models; tests/test_onnx_e2e.py checks the real export against torch)."""

from __future__ import annotations

import pytest

from qa.config import load_config
from qa.models.embedder import choose_runtime, make_embedder
from qa.models.onnx_embedder import export_dir

GOOD = {"ok": True, "min_cosine": 0.99995, "threshold": 0.999}


def test_verified_export_is_chosen_by_default():
    assert choose_runtime(None, GOOD)[0] == "onnx"
    assert choose_runtime("onnx", GOOD)[0] == "onnx"


def test_torch_when_asked_even_with_a_verified_export():
    runtime, reason = choose_runtime("torch", GOOD)
    assert runtime == "torch" and "asked" in reason


def test_torch_without_an_export():
    runtime, reason = choose_runtime(None, None)
    assert runtime == "torch" and "no ONNX export" in reason


def test_failed_check_falls_back_to_torch_and_says_why():
    runtime, reason = choose_runtime(None, {"ok": False, "min_cosine": 0.93, "threshold": 0.999})
    assert runtime == "torch" and "0.9300" in reason and "0.999" in reason
    runtime, reason = choose_runtime("onnx", {"ok": False, "error": "RuntimeError: unordered_map::at"})
    assert runtime == "torch" and "unordered_map::at" in reason


def test_unknown_runtime_is_explained():
    with pytest.raises(ValueError, match="QA_EMBED_RUNTIME='tvm'.*onnx, torch"):
        choose_runtime("tvm", GOOD)


def test_runtime_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("QA_EMBED_RUNTIME", "torch")
    assert load_config().embedder.runtime == "torch"
    monkeypatch.delenv("QA_EMBED_RUNTIME")
    assert load_config().embedder.runtime is None


def test_onnx_with_bfloat16_is_refused_with_a_message(tmp_path):
    cfg = load_config(
        models_dir=tmp_path, embedder__model=str(tmp_path), embedder__runtime="onnx", embedder__dtype="bfloat16"
    )
    with pytest.raises(ValueError, match="ONNX export is float32"):
        make_embedder(cfg)


def test_a_changed_model_gets_a_new_export_folder(tmp_path):
    first = export_dir(tmp_path, "/m/model", "sha-a")
    assert first == export_dir(tmp_path, "/m/model", "sha-a")
    assert first != export_dir(tmp_path, "/m/model", "sha-b")
    assert first.parent == tmp_path / "onnx"
