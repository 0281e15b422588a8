"""ONNX Runtime embeddings equal sentence-transformers' own, from the packaged model."""

from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from kb.embeddings import Embedder, export_model, packaged_model_dir
from shopclerk.settings import Settings
from shopclerk.wiring import Models


@pytest.mark.slow  # loads torch (~500 MB kept for the rest of the run) for the reference
def test_onnx_vectors_match_sentence_transformers(built_settings: Settings) -> None:
    """The session's ONNX export of the packaged model (`export_model`: made again whenever
    kb/ or a library it depends on changes; tests/test_first_hour.py runs a first export as a
    newcomer does)."""
    texts = ["where is my order?", "A 35 L travel backpack of nylon 840D.", "🙂", ""]
    ours = Embedder(export_model(built_settings.models_dir)).encode(texts)
    reference = SentenceTransformer(str(packaged_model_dir()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert ours.shape == (4, 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * reference, axis=1))) > 0.9999


def test_batches_keep_the_order_of_the_texts(models: Models) -> None:
    embedder = models.encoder
    texts = [f"question {'long ' * (n % 7)}number {n}" for n in range(70)]
    together = embedder.encode(texts, batch_size=16)
    one_by_one = np.stack([embedder.encode([t])[0] for t in texts])
    assert np.allclose(together, one_by_one, atol=1e-5)
