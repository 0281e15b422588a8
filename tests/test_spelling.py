from __future__ import annotations

import pytest

from engine.engine import Engine
from engine.spelling import SpellingCorrector


@pytest.fixture(scope="module")
def speller() -> SpellingCorrector:
    return SpellingCorrector(["Fjellstad Trail 30 Backpack", "Orvane", "Klarna"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i want to cancell my order", "i want to cancel my order"),
        ("where is my pakage", "where is my package"),
        ("Can I change the adress?", "Can I change the address?"),
    ],
)
def test_typos_are_corrected(speller: SpellingCorrector, text: str, expected: str) -> None:
    correction = speller.correct(text)
    assert correction.corrected == expected
    assert correction.original == text


@pytest.mark.parametrize(
    "text",
    [
        "is the Fjellstad Trail 30 Backpack waterproof",
        "do you sell Orvane chargers",
        "can I pay with Klarna",
        "order HP-105442 for jan.richter88@example.net",
        "sku OUT-1042 and tracking 1ZH7P4A26606237378",
        "see https://harborandpine.example/returns",
    ],
)
def test_the_stores_vocabulary_is_never_changed(speller: SpellingCorrector, text: str) -> None:
    assert speller.correct(text).corrected == text


def test_the_demo_catalog_names_survive_correction(engine: Engine) -> None:
    speller = engine.stages.speller
    names = [p.name for p in engine.stages.lookup.catalog.products.values()]
    changed = [n for n in names if speller.correct(f"do you have the {n}?").corrected
               != f"do you have the {n}?"]  # fmt: skip
    assert changed == []
