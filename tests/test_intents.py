from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.engine import Engine
from engine.intent_data import (
    Example,
    evaluation_texts,
    model_text,
    same_text,
    training_examples,
)
from engine.intents import ACCEPT_FROM, REJECT_BELOW, IntentClassifier, decide

LABELS = ["track_order", "get_refund", "out_of_scope"]


@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        ([0.90, 0.05, 0.05], "track_order"),
        ([ACCEPT_FROM - 0.01, 0.40, 0.11], "unsure"),
        ([REJECT_BELOW - 0.01, 0.24, 0.24 + 0.29], "out_of_scope"),
        ([0.2, 0.2, 0.6], "out_of_scope"),
    ],
)
def test_named_thresholds_pick_never_forcing_a_guess(
    probabilities: list[float], expected: str
) -> None:
    result = decide(LABELS, np.array(probabilities, dtype=np.float32))
    assert result.intent == expected
    assert [c.score for c in result.candidates] == sorted(
        (c.score for c in result.candidates), reverse=True
    )


def test_unknown_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown intent"):
        IntentClassifier(["track_order", "sing_a_song"], np.zeros((2, 4)), np.zeros(2))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I would like to cancel my purchase", "cancel_order"),
        ("how can I get my money back", "get_refund"),
        ("my password doesn't work anymore, I forgot it", "recover_password"),
        ("does the kettle come in red?", "product_info"),
        ("good morning!", "smalltalk"),
        ("what's the best pizza topping", "out_of_scope"),
    ],
)
def test_the_trained_model_on_unseen_phrasings(engine: Engine, text: str, intent: str) -> None:
    vector = engine.stages.encoder.encode([text])[0]
    assert engine.stages.intents.classify(vector, text).intent == intent


def test_both_halves_of_the_model_survive_saving(engine: Engine, tmp_path: Path) -> None:
    """The letter model travels with the embedding model: loaded, it scores as trained."""
    rows = [("refund pls", "get_refund"), ("i want my money back", "get_refund"),
            ("give me a refund", "get_refund"), ("refnd for my order", "get_refund"),
            ("where is my parcel", "track_order"), ("track my order", "track_order"),
            ("has my package shipped", "track_order"),
            ("wheres my pakage", "track_order"), ("hi there", "smalltalk"),
            ("thanks a lot", "smalltalk"), ("hello", "smalltalk"),
            ("cheers", "smalltalk")]  # fmt: skip
    examples = [Example(t, i) for t, i in rows]
    texts = [model_text(t) for t, _ in rows]
    model = IntentClassifier.train(examples, engine.stages.encoder.encode(texts))
    assert model.letters is not None
    model.save(tmp_path / "m.npz", "x")
    loaded = IntentClassifier.load(tmp_path / "m.npz")
    probe = ["refund?", "parcel where"]
    vectors = engine.stages.encoder.encode(probe)
    assert np.allclose(model.probabilities(vectors, probe), loaded.probabilities(vectors, probe))
    assert [r.intent for r in loaded.classify_many(vectors, probe)] == ["get_refund", "track_order"]


def test_no_evaluation_message_is_learnt_from() -> None:
    """Every set `shopclerk eval` measures on stays apart from what the intent model learns:
    no training text equals an evaluation text (case and punctuation aside)."""
    measured = evaluation_texts()
    assert "refund status" in measured  # also a Bitext row: left out of training
    train, validation = training_examples()
    assert len(train) > 5000
    assert not [e.text for e in train + validation if same_text(e.text) in measured]


def test_a_model_knows_what_it_learnt_from(tmp_path: Path) -> None:
    """`kb build` trains again when the saved model learnt from other examples (an upgrade)."""
    weights, bias = np.zeros((3, 4), np.float32), np.zeros(3, np.float32)
    model = IntentClassifier(LABELS, weights, bias)
    model.save(tmp_path / "new.npz", "abc123")
    assert IntentClassifier.learnt_from(tmp_path / "new.npz") == "abc123"
    np.savez(tmp_path / "old.npz", labels=np.array(LABELS), weights=weights, bias=bias)
    assert IntentClassifier.learnt_from(tmp_path / "old.npz") == ""
    assert IntentClassifier.load(tmp_path / "old.npz").labels == tuple(LABELS)
