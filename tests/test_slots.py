from __future__ import annotations

import pytest

from engine.engine import Engine
from engine.slots import ProductNames, SlotExtractor


@pytest.fixture(scope="module")
def slots(engine: Engine) -> SlotExtractor:
    return engine.stages.slots


@pytest.mark.parametrize(
    "text",
    ["where is HP-105442", "where is hp105442?", "order 105442 please", "#105442",
     "my order number is HP 105442"],
)  # fmt: skip
def test_order_ids_in_every_written_form(slots: SlotExtractor, text: str) -> None:
    assert slots.extract(text).order_id == "HP-105442"


@pytest.mark.parametrize("text", ["where is order 1234", "HP-12", "#12345678"])
def test_malformed_order_ids_are_noticed(slots: SlotExtractor, text: str) -> None:
    found = slots.extract(text)
    assert found.order_id is None
    assert found.malformed_order_id


def test_quantities_are_not_order_ids(slots: SlotExtractor) -> None:
    found = slots.extract("I want to order 2 tents")
    assert found.order_id is None
    assert found.malformed_order_id is None


def test_email_and_product_by_fuzzy_name_and_sku(slots: SlotExtractor) -> None:
    found = slots.extract("Is the mooring 35 travel backpak in stock? ann@example.com")
    assert found.email == "ann@example.com"
    assert found.product_skus[0] == "BAG-1080"
    assert slots.extract("what does ELE-1599 cost").product_skus == ["ELE-1599"]


def test_carry_over_fills_only_what_the_turn_left_open(slots: SlotExtractor) -> None:
    memory = {"order_id": "HP-105442", "product_skus": ["BAG-1080"]}
    tracked = slots.carry(slots.extract("when will it arrive"), "track_order", memory)
    assert (tracked.order_id, tracked.carried) == ("HP-105442", ["order_id"])
    priced = slots.carry(slots.extract("how much is it"), "product_info", memory)
    assert priced.product_skus == ["BAG-1080"]
    own = slots.carry(slots.extract("and HP-105372?"), "track_order", memory)
    assert (own.order_id, own.carried) == ("HP-105372", [])


def test_a_store_without_products_still_reads_messages() -> None:
    """A store that imported only its FAQ: no product is ever named, nothing breaks."""
    assert ProductNames({}, {}).mentioned("does the tent come in green?") == []


def test_two_products_of_one_line_are_both_named_in_the_order_said(slots: SlotExtractor) -> None:
    said = "do you have the Sorrel hiking boots or the Sorrel walking sandals?"
    assert slots.extract(said).product_skus == ["FTW-1072", "FTW-1376"]  # boots, then sandals
