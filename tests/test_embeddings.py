"""ONNX Runtime embeddings equal sentence-transformers' own, from the packaged model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kb.embeddings import Embedder, export_model
from shopclerk.settings import Settings
from shopclerk.wiring import Models

ROOT = Path(__file__).resolve().parent.parent


# sentence-transformers' own encoding, in a process of its own: torch (~400 MB) is never
# loaded into the test workers, which would keep it for the rest of the run.
REFERENCE = """
import json, sys
from sentence_transformers import SentenceTransformer
from kb.embeddings import packaged_model_dir
texts = json.load(sys.stdin)
model = SentenceTransformer(str(packaged_model_dir()), device="cpu")
print(json.dumps(model.encode(texts, normalize_embeddings=True).tolist()))
"""


@pytest.mark.slow  # starts torch, in a process of its own, for the reference
def test_onnx_vectors_match_sentence_transformers(built_settings: Settings) -> None:
    """The session's ONNX export of the packaged model (`export_model`: made again whenever
    kb/ or a library it depends on changes; tests/test_first_hour.py runs a first export as a
    newcomer does)."""
    texts = ["where is my order?", "A 35 L travel backpack of nylon 840D.", "🙂", ""]
    ours = Embedder(export_model(built_settings.models_dir)).encode(texts)
    run = subprocess.run(
        [sys.executable, "-c", REFERENCE],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr
    reference = np.array(json.loads(run.stdout), dtype=np.float32)
    assert ours.shape == (4, 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * reference, axis=1))) > 0.9999


def test_batches_keep_the_order_of_the_texts(models: Models) -> None:
    embedder = models.encoder
    texts = [f"question {'long ' * (n % 7)}number {n}" for n in range(70)]
    together = embedder.encode(texts, batch_size=16)
    one_by_one = np.stack([embedder.encode([t])[0] for t in texts])
    assert np.allclose(together, one_by_one, atol=1e-5)
