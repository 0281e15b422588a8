"""Products the customer points at without naming them: "it", "the other one", "the second one".

The conversation's memory keeps the products of the last list the bot offered
(`offered_skus`, in the order shown) and the product being discussed (`product_skus`):

    "do you have the Sorrel boots or the Sorrel sandals?"  -> offered: sandals, boots
    "no, the other one"                                    -> the one not being discussed
                                                              (of the list, or else of the
                                                              products discussed before)
    "the second one"                                       -> the second of the list
    "how much is it?"                                      -> the product being discussed

A pronoun alone refers only in a short message ("is it waterproof?"): in a longer one ("how
much is it to ship to Norway") the words themselves say what it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_OTHER = re.compile(r"\bother\s+(?:one|1|product|model)\b|\bthe\s+other\W*$", re.I)
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|last)\s*(?:one|1|option|product|"
    r"model)?\b",
    re.I,
)
_PLACES = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
           "4th": 3, "last": -1}  # fmt: skip
_PRONOUN = re.compile(r"\b(?:it|its|it's|that|this|that one|this one|them|they|those)\b", re.I)
PRONOUN_WORDS = 6  # a pronoun refers to the product discussed in messages up to this long


def pointed_at(text: str, memory: Mapping[str, Any]) -> list[str]:
    """The products `text` refers to without naming them ("the other one", "the 2nd one")."""
    offered = _skus(memory.get("offered_skus"))
    current = _skus(memory.get("product_skus"))
    if _OTHER.search(text):  # of the list offered, or else of the products discussed
        pool = offered if set(current) <= set(offered) else _skus(memory.get("products_seen"))
        return [s for s in pool if s not in current][:1]
    ordinal = _ORDINAL.search(text)
    if ordinal and len(offered) > 1:
        place = _PLACES[ordinal.group(1).lower()]
        return [offered[place]] if place < len(offered) else []
    return []


def meant_by_pronoun(text: str, memory: Mapping[str, Any]) -> list[str]:
    """The product being discussed, for a short message that says "it" ("how much is it")."""
    if len(text.split()) > PRONOUN_WORDS or not _PRONOUN.search(text):
        return []
    return _skus(memory.get("product_skus"))


def _skus(value: object) -> list[str]:
    return [str(s) for s in value] if isinstance(value, list) else []


SEEN = 6  # products discussed that the memory keeps, for the agent's view


def remember_products(memory: dict[str, Any], named: list[str], found: list[str]) -> None:
    """Keep what the turn discussed: the product in question, the list offered, all seen."""
    if named:
        memory["product_skus"] = named[:1]
    if len(found) > 1:
        memory["offered_skus"] = found
    if named or found:
        seen = [*named, *found, *_skus(memory.get("products_seen"))]
        memory["products_seen"] = list(dict.fromkeys(seen))[:SEEN]
