"""Intent detection: scored candidates over a fixed label set, and named thresholds that pick.

A multinomial logistic regression over the sentence embedding (the same vector hybrid search
uses, so a turn embeds its text once). Training uses scikit-learn; the learnt weights are saved
as a small `.npz` and applied with NumPy, so answering never imports scikit-learn.

Low scores are never forced into a guess: below `REJECT_BELOW` the message is `out_of_scope`;
between that and `ACCEPT_FROM` the engine is `unsure` and asks, offering the top candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.intent_data import LABELS, OUT_OF_SCOPE, Example
from engine.types import IntentResult, IntentScore

ACCEPT_FROM = 0.50  # top probability at which the best intent is taken
REJECT_BELOW = 0.25  # top probability under which nothing fits: out of scope
OUT_OF_SCOPE_FROM = 0.30  # out_of_scope wins from this probability when it is the top label
CANDIDATES = 3
REGULARISATION_C = 20.0

Vectors = npt.NDArray[np.float32]


class IntentClassifier:
    def __init__(self, labels: Sequence[str], weights: Vectors, bias: Vectors) -> None:
        if weights.shape[0] != len(labels) or bias.shape[0] != len(labels):
            raise ValueError("weights do not match the labels")
        unknown = set(labels) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown intent labels: {sorted(unknown)}")
        self.labels = tuple(labels)
        self._weights = weights.astype(np.float32)
        self._bias = bias.astype(np.float32)

    @classmethod
    def train(cls, examples: Sequence[Example], vectors: Vectors) -> IntentClassifier:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=REGULARISATION_C, max_iter=2000)
        model.fit(vectors, [e.intent for e in examples], sample_weight=[e.weight for e in examples])
        return cls(list(model.classes_), model.coef_, model.intercept_)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        with np.load(path) as data:
            return cls([str(x) for x in data["labels"]], data["weights"], data["bias"])

    def save(self, path: Path, learnt_from: str = "") -> None:
        """Save the weights, with `learnt_from`: a fingerprint of the training data."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, labels=np.array(self.labels), weights=self._weights, bias=self._bias,
                 learnt_from=np.array(learnt_from))  # fmt: skip
        tmp.replace(path)

    @staticmethod
    def learnt_from(path: Path) -> str:
        """The fingerprint of the data the saved model learnt from ("" if unknown)."""
        with np.load(path) as data:
            return str(data["learnt_from"]) if "learnt_from" in data else ""

    def probabilities(self, vectors: Vectors) -> Vectors:
        logits = vectors @ self._weights.T + self._bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probabilities: Vectors = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return probabilities

    def classify(self, vector: Vectors) -> IntentResult:
        return self.classify_many(vector.reshape(1, -1))[0]

    def classify_many(self, vectors: Vectors) -> list[IntentResult]:
        return [decide(self.labels, row) for row in self.probabilities(vectors)]


def decide(labels: Sequence[str], probabilities: Vectors) -> IntentResult:
    """Apply the named thresholds to one row of probabilities."""
    order = np.argsort(-probabilities)[:CANDIDATES]
    candidates = tuple(IntentScore(labels[i], float(probabilities[i])) for i in order)
    top = candidates[0]
    if top.intent == OUT_OF_SCOPE and top.score >= OUT_OF_SCOPE_FROM:
        return IntentResult(OUT_OF_SCOPE, top.score, candidates)
    if top.score >= ACCEPT_FROM and top.intent != OUT_OF_SCOPE:
        return IntentResult(top.intent, top.score, candidates)
    if top.score < REJECT_BELOW:
        return IntentResult(OUT_OF_SCOPE, top.score, candidates)
    return IntentResult("unsure", top.score, candidates)
