"""Which FAQ entry a question asks for, learnt from the store's own FAQ.

Search scores an entry by its single closest text (the question, an alternate, the answer) and
by shared words. Entries on neighbouring topics ("How much is shipping to Norway?", "How long
does delivery to Norway take?") then score alike, and the closest text is often the wrong
entry's. A classifier trained on every text of every entry learns what tells them apart: one
logistic regression over the embeddings the FAQ index already holds (nothing is embedded twice),
one class per entry. It works without alternates too: the question and the answer are two
examples of each entry.

Measured with `shopclerk eval` on the demo store: FAQ paraphrases hit@1 0.922 -> 0.959; natural
development messages answered from the right entry 0.848 -> 0.856, and 0.854 -> 0.877 on a fresh
development pass written after the choice (MATCHER_WEIGHT in kb/search.py: 0.5 of 0, 0.5, 1, 2
and "the matcher alone", on the first development set only).

The matcher orders the search's candidates; it does not replace their scores, which keep their
meaning for the thresholds that decide whether an entry answers at all.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from kb.embeddings import Vectors
from kb.vector_index import VectorIndex

REGULARISATION_C = 10.0  # weak regularisation: a few examples per entry, each one counts
MATCHER_FILE = "faq.matcher.npz"


class FaqMatcher:
    """Probabilities over FAQ entries (by database id) for a question's embedding."""

    def __init__(
        self, record_ids: np.ndarray, coef: np.ndarray, intercept: np.ndarray, learnt_from: str
    ) -> None:
        self.record_ids = record_ids.astype(np.int64)
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.learnt_from = learnt_from

    @classmethod
    def learn(cls, index: VectorIndex) -> FaqMatcher | None:
        """Train on the index's vectors; None when there are fewer than two entries to tell
        apart."""
        record_ids, vectors = index.vectors()
        if len(np.unique(record_ids)) < 2:
            return None
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=REGULARISATION_C, max_iter=3000)
        model.fit(vectors, record_ids)
        return cls(model.classes_, model.coef_, model.intercept_, index_digest(index))

    def probabilities(self, vector: Vectors) -> dict[int, float]:
        logits = vector.reshape(1, -1).astype(np.float32) @ self.coef.T + self.intercept
        logits = logits[0] - logits[0].max()
        odds = np.exp(logits)
        shares = odds / odds.sum()
        return {int(r): float(p) for r, p in zip(self.record_ids, shares, strict=True)}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".{MATCHER_FILE}"
        with partial.open("wb") as out:
            np.savez(
                out,
                record_ids=self.record_ids,
                coef=self.coef,
                intercept=self.intercept,
                learnt_from=np.array(self.learnt_from),
            )
        os.replace(partial, directory / MATCHER_FILE)

    @classmethod
    def load(cls, directory: Path, index: VectorIndex) -> FaqMatcher | None:
        """The saved matcher, if it was learnt from exactly what `index` holds now."""
        path = directory / MATCHER_FILE
        if not path.exists():
            return None
        with np.load(path) as saved:
            matcher = cls(
                saved["record_ids"], saved["coef"], saved["intercept"], str(saved["learnt_from"])
            )
        return matcher if matcher.learnt_from == index_digest(index) else None


def index_digest(index: VectorIndex) -> str:
    """What the index holds, as its records' content hashes say."""
    pairs = sorted(index.content_hashes().items())
    return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]


def sync_matcher(index: VectorIndex, directory: Path) -> bool:
    """Learn the matcher again when the FAQ index changed since it was learnt; True if it was.
    With fewer than two entries there is none (and any old one is removed)."""
    if FaqMatcher.load(directory, index) is not None:
        return False
    matcher = FaqMatcher.learn(index)
    if matcher is None:
        (directory / MATCHER_FILE).unlink(missing_ok=True)
        return False
    matcher.save(directory)
    return True
