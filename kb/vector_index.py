"""FAISS indexes of record embeddings, saved under the data directory.

Each kind of record (products, FAQ) has one inner-product index over normalised vectors (so the
score is the cosine similarity), keyed by the record's database id, with the content hash of
every indexed record beside it: `sync` embeds only records that are new or changed and removes
the ones that are gone. A record may have several texts (an FAQ entry's question and the other
ways customers ask it); each gets a vector, and a record scores as its best one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb.embeddings import DIMENSION, MODEL_NAME, Vectors
from kb.errors import IndexMissingError

Encode = Callable[[Sequence[str]], Vectors]
Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)
MAX_TEXTS = 32  # texts per record; vector id = record id * MAX_TEXTS + text number
# Texts embedded between two progress reports: two of the embedder's batches of 64 (a multiple
# of them keeps its batches whole); about 1.5 s on two cores for the demo store's texts.
PROGRESS_CHUNK = 128


def no_progress(done: int, total: int) -> None:
    """A `Progress` that shows nothing."""


@dataclass(frozen=True)
class IndexedText:
    """What to index for one record."""

    record_id: int
    content_hash: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class SyncReport:
    kind: str
    added: int
    updated: int
    removed: int
    unchanged: int

    def summary(self) -> str:
        return (
            f"{self.kind} index: {self.added} added, {self.updated} re-embedded, "
            f"{self.removed} removed, {self.unchanged} unchanged"
        )


class VectorIndex:
    """One kind's FAISS index and the content hashes of what it holds."""

    def __init__(self, kind: str, index: faiss.Index, hashes: dict[int, str]) -> None:
        self.kind = kind
        self._index = index
        self._hashes = hashes

    @classmethod
    def empty(cls, kind: str) -> VectorIndex:
        return cls(kind, faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION)), {})

    @classmethod
    def load(cls, directory: Path, kind: str) -> VectorIndex:
        index_file, meta_file = _paths(directory, kind)
        if not index_file.exists() or not meta_file.exists():
            raise IndexMissingError(kind, directory)
        meta = json.loads(meta_file.read_text())
        hashes = {int(k): v for k, v in meta["hashes"].items()}
        return cls(kind, faiss.read_index(str(index_file)), hashes)

    @classmethod
    def load_or_empty(cls, directory: Path, kind: str) -> VectorIndex:
        try:
            return cls.load(directory, kind)
        except IndexMissingError:
            return cls.empty(kind)

    def __len__(self) -> int:
        """How many records the index holds."""
        return len(self._hashes)

    def content_hashes(self) -> dict[int, str]:
        """Each indexed record's content hash, by record id."""
        return dict(self._hashes)

    def vectors(self) -> tuple[np.ndarray, Vectors]:
        """Every vector the index holds, with the id of the record it belongs to."""
        mapped: Any = self._index  # an IndexIDMap2: its ids beside a flat index of the vectors
        ids = faiss.vector_to_array(mapped.id_map)
        inner = faiss.downcast_index(mapped.index)
        vectors = inner.reconstruct_n(0, inner.ntotal) if inner.ntotal else np.empty((0, DIMENSION))
        return ids // MAX_TEXTS, np.asarray(vectors, dtype=np.float32)

    def to_embed(self, records: Iterable[IndexedText]) -> int:
        """How many texts `sync(records)` would embed."""
        return sum(len(r.texts[:MAX_TEXTS]) for r in self._changed(records))

    def sync(
        self, records: Iterable[IndexedText], encode: Encode, progress: Progress = no_progress
    ) -> SyncReport:
        """Make the index hold exactly `records`, embedding only what changed; `progress` hears
        how many texts are embedded after each chunk of them (not at all if none is)."""
        wanted = {r.record_id: r for r in records}
        gone = [i for i in self._hashes if i not in wanted]
        changed = self._changed(wanted.values())
        updated = sum(1 for r in changed if r.record_id in self._hashes)
        stale = gone + [r.record_id for r in changed if r.record_id in self._hashes]
        if stale:
            self._index.remove_ids(_ids_selector(stale))
        pairs = [
            (r.record_id * MAX_TEXTS + n, text)
            for r in changed
            for n, text in enumerate(r.texts[:MAX_TEXTS])
        ]
        if pairs:
            vectors = _encode_in_chunks([text for _, text in pairs], encode, progress)
            self._index.add_with_ids(vectors, np.array([i for i, _ in pairs], dtype=np.int64))
        for record_id in gone:
            del self._hashes[record_id]
        for r in changed:
            self._hashes[r.record_id] = r.content_hash
        return SyncReport(
            self.kind, len(changed) - updated, updated, len(gone), len(wanted) - len(changed)
        )

    def _changed(self, records: Iterable[IndexedText]) -> list[IndexedText]:
        return [r for r in records if self._hashes.get(r.record_id) != r.content_hash]

    def save(self, directory: Path) -> None:
        """Write index and hashes atomically: a crash leaves the previous pair in place."""
        directory.mkdir(parents=True, exist_ok=True)
        index_file, meta_file = _paths(directory, self.kind)
        meta = {"model": MODEL_NAME, "dimension": DIMENSION, "hashes": self._hashes}
        faiss.write_index(self._index, str(index_file) + ".tmp")
        meta_file.with_suffix(".tmp").write_text(json.dumps(meta))
        os.replace(str(index_file) + ".tmp", index_file)
        os.replace(meta_file.with_suffix(".tmp"), meta_file)

    def search(
        self, vector: Vectors, k: int, allowed: Iterable[int] | None = None
    ) -> list[tuple[int, float]]:
        """The k nearest records to `vector` as (record id, best cosine), best first."""
        if self._index.ntotal == 0 or k <= 0:
            return []
        params = None
        if allowed is not None:
            allowed_ids = list(allowed)
            if not allowed_ids:
                return []
            params = faiss.SearchParameters()
            params.sel = _ids_selector(allowed_ids)
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        wanted = min(k * 8, int(self._index.ntotal))
        scores, ids = self._index.search(query, wanted, params=params)
        valid = ids[0] >= 0
        records, scores = ids[0][valid] // MAX_TEXTS, scores[0][valid]
        # Results come best first; a record's first appearance is its best text.
        _, first = np.unique(records, return_index=True)
        first.sort()
        return [(int(records[i]), float(scores[i])) for i in first[:k]]


def _encode_in_chunks(texts: list[str], encode: Encode, progress: Progress) -> Vectors:
    """`encode(texts)`, told to `progress` chunk by chunk. The chunks are taken in order of
    length, as the embedder takes its batches: the same batches, so the same vectors and time
    as one call (in input order, the demo store's embedding took 8.7 s instead of 7.4 s)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.empty((len(texts), DIMENSION), dtype=np.float32)
    for start in range(0, len(order), PROGRESS_CHUNK):
        chunk = order[start : start + PROGRESS_CHUNK]
        vectors[chunk] = encode([texts[i] for i in chunk])
        progress(start + len(chunk), len(texts))
    return vectors


def _ids_selector(record_ids: list[int]) -> faiss.IDSelector:
    """Every vector id that belongs to these records."""
    ids = [i * MAX_TEXTS + n for i in record_ids for n in range(MAX_TEXTS)]
    return faiss.IDSelectorBatch(np.array(ids, dtype=np.int64))


def _paths(directory: Path, kind: str) -> tuple[Path, Path]:
    return directory / f"{kind}.faiss", directory / f"{kind}.meta.json"
