from __future__ import annotations

import numpy as np
import pytest

from engine.engine import Engine
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
    assert engine.stages.intents.classify(vector).intent == intent
