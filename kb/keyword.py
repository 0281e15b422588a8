"""Keyword search with BM25 (bm25s, with the Snowball English stemmer from PyStemmer)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# bm25s.tokenize's own pattern and stop words, applied to queries without its per-call setup
# (a third of a millisecond a query, which is most of BM25's cost here).
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)


class KeywordIndex:
    """BM25 over a fixed set of texts, each belonging to one record id."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        self._ids = np.array(ids, dtype=np.int64)
        self._position = {record_id: n for n, record_id in enumerate(ids)}
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25: bm25s.BM25 | None = None
        if texts:
            tokens = bm25s.tokenize(
                list(texts), stopwords="en", stemmer=self._stemmer, show_progress=False
            )
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    def search(
        self, query: str, k: int, allowed: Iterable[int] | None = None
    ) -> list[tuple[int, float]]:
        """The k best-scoring records for `query` as (record id, BM25 score), best first."""
        if self._bm25 is None:
            return []
        words = [w for w in _TOKEN.findall(query.lower()) if w not in _STOPWORDS]
        terms = self._stemmer.stemWords(words)
        if not terms:
            return []
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            positions = [self._position[i] for i in allowed if i in self._position]
            mask[positions] = True
            scores = np.where(mask, scores, 0.0)
        best = np.argsort(-scores)[:k]
        return [(int(self._ids[n]), float(scores[n])) for n in best if scores[n] > 0]
