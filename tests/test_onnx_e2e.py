"""The real EmbeddingGemma exported to ONNX (made once into the model cache at first use) gives
the vectors PyTorch float32 gives, for queries and documents in four languages, one at a time and
in padded batches."""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import load_config
from qa.models.embedder import make_embedder

pytestmark = pytest.mark.e2e

# written for this test: none of it is in the seed corpus or in the export-time check
QUERIES = [
    "Which team won the cup final after extra time?",
    "Wie hoch ist die Inflationsrate im Euroraum gestiegen?",
    "哪家航空公司宣布开通新的国际航线？",
    "متى سيبدأ تشغيل خط المترو الجديد في العاصمة؟",
]
DOCUMENTS = [
    "The harbour authority said container traffic fell by 4.1 percent in the first half of the year.",
    "Der Stadtrat beschloss am Dienstag, die Gebühren für Anwohnerparken ab Januar zu verdoppeln.",
    "研究人员在南极冰层下发现了一种此前未知的微生物群落，相关论文发表在《自然》杂志上。",
    "قالت وزارة الصحة إن حملة التطعيم الموسمية ستشمل أكثر من مليوني طفل في المدارس الحكومية.",
]


@pytest.fixture(scope="module")
def embedders():
    onnx = make_embedder(load_config(embedder__runtime="onnx", embedder__dtype="float32"))
    torch32 = make_embedder(load_config(embedder__runtime="torch", embedder__dtype="float32"))
    return onnx, torch32


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_runtime_is_the_one_loaded(embedders):
    onnx, torch32 = embedders
    assert (onnx.runtime, onnx.dtype) == ("onnx", "float32")
    assert (torch32.runtime, torch32.dtype) == ("torch", "float32")
    assert onnx.dim == torch32.dim and onnx.fingerprint != torch32.fingerprint


def test_queries_match_torch_float32(embedders):
    onnx, torch32 = embedders
    assert cosines(onnx.embed_queries(QUERIES), torch32.embed_queries(QUERIES)).min() >= 0.999


def test_documents_match_torch_float32(embedders):
    onnx, torch32 = embedders
    assert cosines(onnx.embed_documents(DOCUMENTS), torch32.embed_documents(DOCUMENTS)).min() >= 0.999


def test_prompts_are_applied_query_differs_from_document(embedders):
    onnx, torch32 = embedders
    as_query, as_doc = onnx.embed_queries(QUERIES[:1]), onnx.embed_documents(QUERIES[:1])
    assert cosines(as_query, as_doc)[0] < 0.99  # the prompt changes the vector…
    assert cosines(as_doc, torch32.embed_documents(QUERIES[:1]))[0] >= 0.999  # …as torch's does


def test_vectors_are_unit_length_float32(embedders):
    vectors = embedders[0].embed_documents(DOCUMENTS)
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedders[0].embed_documents([]).shape == (0, embedders[0].dim)


def test_padded_batches_match_torch_float32(embedders):
    onnx, torch32 = embedders
    texts = QUERIES + DOCUMENTS  # lengths differ: every batch is padded
    default = onnx.batch_size
    onnx.batch_size = len(texts)
    try:
        batched = onnx.embed_documents(texts)
    finally:
        onnx.batch_size = default
    assert cosines(batched, torch32.embed_documents(texts)).min() >= 0.999


def test_short_texts_embedded_together_are_the_vectors_of_each_alone(embedders):
    """Words go in batches (onnx_embedder.SHORT_BATCH, for the names check): padding them must
    not move a vector."""
    onnx = embedders[0]
    words = ["Vizepräsident", "谷歌", "Anthropic", "مايكروسوفت", "KI", "Forschungsleiter", "人工智能", "OpenAI", "ab"]
    together = onnx.embed_documents(words)
    alone = np.concatenate([onnx.embed_documents([w]) for w in words])
    assert np.abs(together - alone).max() < 1e-5
