"""Product questions as a customer sees them: the attribute asked for first, stock and price
when asked, choices when several products match, two named products compared, names found
when written partly or with typos."""

from __future__ import annotations

import uuid

import pytest

from engine.engine import Engine
from engine.slots import SlotExtractor
from engine.types import Inbound, Reply
from shopclerk.evaluation import RIGHT, WRONG, judge


def _ask(engine: Engine, text: str) -> Reply:
    decision = engine.handle(Inbound(f"products-{uuid.uuid4().hex}", text, "test")).decision
    assert isinstance(decision, Reply), decision
    return decision


def test_a_yes_no_question_is_answered_yes_when_the_value_settles_it(engine: Engine) -> None:
    reply = _ask(engine, "can I use the vidal 24 skillet on induction")
    assert reply.text.startswith("Yes")
    assert "all hobs including induction" in reply.text
    assert "Details:" not in reply.text  # not the whole fact sheet
    assert [s.id for s in reply.sources] == ["KIT-1130"]


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("is the tempo band set latex free", "natural latex"),  # the value says latex
        ("does the halo smart plug work with 5ghz wifi", "Wi-Fi 2.4 GHz"),
        ("is the haar down jacket goose or duck", "800 fill power goose down"),  # a choice
    ],
)
def test_no_yes_unless_the_value_says_so(engine: Engine, question: str, value: str) -> None:
    reply = _ask(engine, question)
    assert not reply.text.startswith(("Yes", "No"))
    assert value in reply.text


def test_the_asked_attribute_comes_first_in_a_sentence(engine: Engine) -> None:
    weight = _ask(engine, "olio 28 skillet how heavy").text
    assert weight == "The Kavelo Olio 28 Cast Iron Skillet (KIT-1142) weighs 3.2 kg."
    size = _ask(engine, "do the corvado sorrel hiking boots come in size 38").text
    assert size.startswith("Yes")
    assert "EU 37-47" in size
    tent = _ask(engine, "how many ppl fit in the valdren scree").text
    assert "3 persons" in tent
    assert "Details:" not in tent


def test_stock_and_price_when_asked(engine: Engine) -> None:
    out = _ask(engine, "kvist sleeping bag in stock?").text
    assert "out of stock" in out
    assert "Back in stock in about 3 weeks" in out
    available = _ask(engine, "is the halde 45 in stock").text
    assert available.startswith("Yes")
    assert "40 available" in available
    price = _ask(engine, "how much is the granite 32").text
    assert price == "The Tarnvik Granite 32 Hiking Backpack (OUT-1049) costs EUR 114.95."


def test_a_general_question_gets_the_fact_sheet(engine: Engine) -> None:
    reply = _ask(engine, "tell me about the daylight face serum")
    assert "EUR 39.95" in reply.text
    assert "Details:" in reply.text
    assert "vitamin C" in reply.text


def test_an_attribute_the_record_lacks_is_said_to_be_unknown(engine: Engine) -> None:
    reply = _ask(engine, "does the tind 22 have a warranty")
    assert "do not say its warranty" in reply.text
    assert not reply.text.startswith("Yes")


def test_several_matches_are_offered_as_choices(engine: Engine) -> None:
    reply = _ask(engine, "the skillet")
    assert "Which one do you mean?" in reply.text
    assert set(reply.quick_replies) >= {
        "Kavelo Olio 28 Cast Iron Skillet",
        "Brenmoor Vidal 24 Cast Iron Skillet",
    }


def test_two_named_products_are_compared_side_by_side(engine: Engine) -> None:
    reply = _ask(engine, "which is lighter, the tind 22 or the granite 32")
    assert "0.74 kg" in reply.text
    assert "1.05 kg" in reply.text
    assert reply.text.endswith("The Fjellstad Tind 22 Hiking Backpack is lighter.")
    assert [s.id for s in reply.sources] == ["OUT-1033", "OUT-1049"]
    cheaper = _ask(engine, "which is cheaper, the vidal 24 skillet or the olio 28 skillet")
    assert cheaper.text.endswith("The Brenmoor Vidal 24 Cast Iron Skillet is cheaper.")
    differ = _ask(engine, "difference between the vidal 24 skillet and the olio 28 skillet")
    assert "24 cm against 28 cm" in differ.text


@pytest.fixture(scope="module")
def slots(engine: Engine) -> SlotExtractor:
    return engine.stages.slots


@pytest.mark.parametrize(
    ("text", "sku"),
    [
        ("valdren scree", "OUT-1085"),  # brand and model, no kind
        ("korvena transit L how big", "BAG-1339"),
        ("olio 28 skillet", "KIT-1142"),  # "olio" is a dripper too
        ("kavelo french press how much coffee does it make", "KIT-1310"),  # brand and kind
        ("tallow casserol how many litres", "KIT-1253"),  # a typo
        ("nimbus merino tee is it 100% wool?", "CLO-1350"),  # not the Nimbus wool socks
    ],
)
def test_partly_written_names_name_one_product(
    slots: SlotExtractor, text: str, sku: str
) -> None:  # fmt: skip
    assert slots.extract(text).product_skus == [sku]


@pytest.mark.parametrize(
    "text",
    [
        "my order is still pending and I want to check in on it",
        "warranty on harbor & pine bags?",
        "you sent me the wrong item, i ordered the green one and got orange",
    ],
)
def test_everyday_words_and_a_brand_alone_name_no_product(slots: SlotExtractor, text: str) -> None:
    assert slots.extract(text).product_skus == []


def test_two_names_in_one_message_are_both_found_in_the_order_written(
    slots: SlotExtractor,
) -> None:
    found = slots.extract("is the harbor & pine rain jacket lighter than the vintermo wren one")
    assert found.product_skus == ["CLO-1132", "CLO-1087"]


def test_the_eval_judges_an_attribute_row_by_the_value_stated(engine: Engine) -> None:
    text = "how heavy is the granite 32 pack"
    turn = engine.handle(Inbound(f"judge-{uuid.uuid4().hex}", text, "eval"))
    by_sku = engine.stages.lookup.catalog.by_sku
    row = {"text": text, "kind": "product", "accept": ["OUT-1049"]}
    assert judge({**row, "attribute": "weight"}, turn, by_sku) == RIGHT
    assert judge({**row, "attribute": "colour"}, turn, by_sku) == WRONG  # not what it said
