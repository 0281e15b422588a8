"""The pool of spelling correctors engines borrow (shopclerk/wiring.py `Spellers`)."""

from __future__ import annotations

import pytest
from symspellpy import SymSpell

from engine.spelling import SpellingCorrector, load_symspell
from shopclerk.wiring import Spellers


@pytest.fixture(scope="module")
def symspell() -> SymSpell:
    """One English dictionary for every corrector of the module (each would load its own, in
    seconds and hundreds of MB)."""
    return load_symspell()


@pytest.fixture
def built() -> list[SpellingCorrector]:
    return []


@pytest.fixture
def spellers(symspell: SymSpell, built: list[SpellingCorrector]) -> Spellers:
    def build(vocabulary: list[str]) -> SpellingCorrector:
        built.append(speller := SpellingCorrector(vocabulary, symspell))
        return speller

    return Spellers(per_vocabulary=2, total=3, build=build)


def test_a_corrector_given_back_is_lent_again(
    spellers: Spellers, built: list[SpellingCorrector]
) -> None:
    first = spellers.lend(["Orvane"])
    spellers.give_back(first)
    for _ in range(50):
        speller = spellers.lend(["Orvane"])
        assert speller is first
        assert speller.correct("where is my pakage").corrected == "where is my package"
        spellers.give_back(speller)
    assert len(built) == 1
    assert spellers.idle() == 1


def test_two_engines_never_share_a_corrector(spellers: Spellers) -> None:
    one, other = spellers.lend(["Orvane"]), spellers.lend(["Orvane"])
    assert one is not other


def test_idle_correctors_stay_within_bounds(
    spellers: Spellers, built: list[SpellingCorrector]
) -> None:
    # Many engines of one vocabulary at once, all stopping: two are kept, the last two back.
    crowd = [spellers.lend(["Orvane"]) for _ in range(5)]
    for speller in crowd:
        spellers.give_back(speller)
    assert spellers.idle() == 2
    assert {id(spellers.lend(["Orvane"])), id(spellers.lend(["Orvane"]))} == {
        id(crowd[3]),
        id(crowd[4]),
    }
    # A catalog edited all day: a new vocabulary at each reload, each engine given back.
    for version in range(20):
        spellers.give_back(spellers.lend(["Orvane", f"Model {version}"]))
        assert spellers.idle() <= 3
    assert spellers.idle() == 3
    # The least recently given back went first: the latest versions are lent again.
    before = len(built)
    latest = spellers.lend(["Orvane", "Model 19"])
    assert len(built) == before
    oldest = spellers.lend(["Orvane", "Model 0"])
    assert len(built) == before + 1
    assert latest is not oldest


def test_a_corrector_the_pool_never_lent_is_not_kept(
    spellers: Spellers, symspell: SymSpell
) -> None:
    spellers.give_back(SpellingCorrector(["Orvane"], symspell))
    assert spellers.idle() == 0
