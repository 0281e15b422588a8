"""Places customers name, read as the countries a store's shipping rules speak of."""

from __future__ import annotations

import pytest

from engine.places import Places


@pytest.fixture(scope="module")
def places() -> Places:
    return Places.from_geonames()


@pytest.mark.parametrize(
    ("text", "noted"),
    [
        ("can u send to oslo and whats the fee", "(Norway)"),
        ("im in texas lol", "(United States)"),
        ("ordering to munich, how long", "(Germany)"),
        ("shipping time usa", "(United States)"),
        ("how much to post a parcel to ireland", "(Ireland)"),
        ("moved to Oslo from Rotterdam", "(Norway, The Netherlands)"),
        ("ships to new york?", "(United States)"),
        ("munich delivery takes how long usually", "(Germany)"),
        ("gent address, how soon would my box be there", "(Belgium)"),
    ],
)
def test_places_are_read_as_their_countries(places: Places, text: str, noted: str) -> None:
    assert places.note(text) == f"{text} {noted}"


@pytest.mark.parametrize(
    "text",
    ["nice jacket", "change my mobile number", "reading glasses", "a turkey roasting tin",
     "send it to my work in the city", "nice delivery, thanks", "🙂", ""],
)  # fmt: skip
def test_everyday_words_are_not_places(places: Places, text: str) -> None:
    assert places.note(text) == text
