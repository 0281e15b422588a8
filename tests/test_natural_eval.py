"""How `shopclerk eval` judges a natural message: what the customer got, not what the intent
model said (engine/data/eval/natural_*.jsonl)."""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any

import pytest

from engine.engine import Engine
from engine.types import Inbound
from shopclerk.evaluation import NATURAL_PARTS, REFUSED, RIGHT, WRONG, WRONG_RECORD, judge


def _judge(engine: Engine, text: str, kind: str, accept: list[str]) -> str:
    turn = engine.handle(Inbound(f"judge-{uuid.uuid4().hex}", text, "eval"))
    return judge({"text": text, "kind": kind, "accept": accept}, turn)


def test_the_right_entry_is_right_and_another_entry_is_a_wrong_answer(engine: Engine) -> None:
    question = "which payment methods do you accept?"
    assert _judge(engine, question, "faq", ["payment-methods"]) == RIGHT
    assert _judge(engine, question, "faq", ["payment-klarna"]) == WRONG_RECORD


def test_handoffs_small_talk_and_off_topic_are_judged_by_what_happened(engine: Engine) -> None:
    assert _judge(engine, "I want to talk to a person", "handoff", ["handoff"]) == RIGHT
    assert _judge(engine, "thanks, bye!", "smalltalk", ["smalltalk"]) == RIGHT
    assert _judge(engine, "thanks, bye!", "handoff", ["handoff"]) == WRONG
    assert _judge(engine, "who won the football world cup in 1974", "faq",
                  ["payment-methods"]) in (REFUSED, WRONG_RECORD)  # fmt: skip


@pytest.mark.parametrize("part", sorted(NATURAL_PARTS))
def test_every_natural_message_names_answers_that_exist(part: str) -> None:
    path = resources.files("engine").joinpath("data", "eval", NATURAL_PARTS[part])
    rows: list[dict[str, Any]] = [json.loads(line) for line in path.read_text().splitlines()]
    faq = resources.files("kb.demo").joinpath("faq.json").read_text()
    faq_ids = {entry["id"] for entry in json.loads(faq)["questions"]}
    products = json.loads(resources.files("kb.demo").joinpath("products.json").read_text())
    skus = {product["sku"] for product in products}
    assert len(rows) >= 300
    for row in rows:
        assert row["accept"], row
        if row["kind"] == "faq":
            assert set(row["accept"]) <= faq_ids, row
        if row["kind"] == "product":
            assert set(row["accept"]) <= skus, row
