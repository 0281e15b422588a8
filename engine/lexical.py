"""The spelling side of intent detection: character n-grams of the words, hashed.

The sentence embedding knows what a message means, but a two-word message in slang or with a
typo ("klarna ok?", "refnd pls") says little to it; the letters themselves still do. Each word,
padded with spaces, gives its 2- to 5-letter pieces (as scikit-learn's `char_wb` analyzer
does); a piece is hashed to a stable number (CRC-32, the same on every machine and run), counted
sublinearly, weighted by how rare it is in the training texts and normalised.

Training fits the vocabulary and weights once; answering needs only NumPy and a dictionary.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

NGRAMS = range(2, 6)
MIN_DOCUMENTS = 2  # a piece seen in fewer training texts is not learnt from
_WORD = re.compile(r"\w+", re.UNICODE)

Vectors = npt.NDArray[np.float32]


def pieces(text: str) -> Counter[int]:
    """The hashed letter pieces of `text`'s words, with their counts."""
    counts: Counter[int] = Counter()
    for word in _WORD.findall(text.lower()):
        padded = f" {word} "
        for n in NGRAMS:
            for i in range(max(1, len(padded) - n + 1)):
                counts[zlib.crc32(padded[i : i + n].encode())] += 1
    return counts


class LetterPieces:
    """Texts to sparse TF-IDF rows over the pieces seen in training."""

    def __init__(self, hashes: Sequence[int], idf: Sequence[float]) -> None:
        self.column = {int(h): i for i, h in enumerate(hashes)}
        self.idf = np.asarray(idf, dtype=np.float32)

    @classmethod
    def fit(cls, texts: Sequence[str]) -> LetterPieces:
        documents: Counter[int] = Counter()
        for text in texts:
            documents.update(pieces(text).keys())
        kept = sorted(h for h, n in documents.items() if n >= MIN_DOCUMENTS)
        idf = [math.log((1 + len(texts)) / (1 + documents[h])) + 1 for h in kept]
        return cls(kept, idf)

    @property
    def hashes(self) -> npt.NDArray[np.int64]:
        return np.fromiter(self.column, dtype=np.int64, count=len(self.column))

    def row(self, text: str) -> tuple[npt.NDArray[np.int64], Vectors]:
        """One text: the columns it has and their weights (sublinear tf x idf, L2-normalised)."""
        found = [(self.column[h], n) for h, n in pieces(text).items() if h in self.column]
        columns = np.array([c for c, _ in found], dtype=np.int64)
        values = np.array([1 + math.log(n) for _, n in found], dtype=np.float32)
        values *= self.idf[columns] if len(columns) else values
        norm = float(np.linalg.norm(values))
        return columns, values / norm if norm else values

    def matrix(self, texts: Sequence[str]) -> object:
        """All texts as a SciPy CSR matrix (training only)."""
        from scipy.sparse import csr_matrix

        rows = [self.row(t) for t in texts]
        indptr = np.cumsum([0] + [len(c) for c, _ in rows])
        columns = np.concatenate([c for c, _ in rows]) if rows else np.array([], np.int64)
        values = np.concatenate([v for _, v in rows]) if rows else np.array([], np.float32)
        return csr_matrix((values, columns, indptr), shape=(len(texts), len(self.column)))
