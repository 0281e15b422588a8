"""Spelling correctors share one English dictionary (engine/spelling.py `english`) and keep
the store's words in one of their own: a new catalog or FAQ costs milliseconds, not a reload
of the English one, and one store's words never leak into another store's corrections."""

from __future__ import annotations

from engine.spelling import SpellingCorrector


def test_a_store_s_own_words_are_corrected_towards_only_in_its_own_corrector() -> None:
    ours = SpellingCorrector(["Orvane Trail Jacket"])
    another = SpellingCorrector(["Zephyrix Boots"])
    assert ours.correct("is the Orvne jacket waterproof").corrected == (
        "is the Orvane jacket waterproof"
    )
    assert "Orvane" not in another.correct("is the Orvne jacket waterproof").corrected
    assert another.correct("do the Zephrix boots fit").corrected == "do the Zephyrix boots fit"
    assert "Zephyrix" not in ours.correct("do the Zephrix boots fit").corrected


def test_both_correct_english_from_the_one_dictionary_they_share() -> None:
    ours, another = SpellingCorrector(["Orvane"]), SpellingCorrector(["Zephyrix"])
    assert ours._english is another._english
    for speller in (ours, another):
        assert speller.correct("where is my pakage").corrected == "where is my package"
        assert speller.known_share("where is my package") == 1.0
