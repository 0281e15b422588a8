"""Slots: order id, email and product references, this turn's or carried from earlier turns."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process, utils

from engine.types import Slots
from kb.records import normalize_order_id
from kb.search import Catalog

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_ID = re.compile(r"\bhp[\s-]?(\d{6})\b", re.IGNORECASE)
# "order 100123", "order number is #100123", "#100123"; digits of the wrong length are malformed.
_ORDER_REF = re.compile(
    r"(?:\b(?:order|purchase|package|parcel)(?:\s+(?:number|no\.?|id|nr))?(?:\s+is)?\s*[:#]?\s*"
    r"(\d{3,12})|(?:#\s?|\bhp[\s-]?)(\d{1,12}))\b",
    re.IGNORECASE,
)
_SKU = re.compile(r"\b[A-Z]{3}-\d{4}\b", re.IGNORECASE)
TOKEN_MATCH_FROM = 85.0  # rapidfuzz ratio at which a typed word is a word of a product name
PRODUCT_MATCH_FROM = 0.6  # share of a name's weight (idf) the message must cover
# A partial name ("valdren scree", "kavelo french press", "olio 28 skillet") names a product when
# its words, brand included, narrow the catalog down to this many products at most.
NARROWED_TO = 2

ORDER_INTENTS = frozenset({
    "track_order", "cancel_order", "change_order", "change_shipping_address", "get_invoice",
    "check_invoice", "get_refund", "track_refund", "delivery_period", "payment_issue",
    "complaint",
})  # fmt: skip


class SlotExtractor:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        products = catalog.products.values()
        self._names = ProductNames(
            {p.sku: _model_name(p.name, p.brand) for p in products},
            {p.sku: utils.default_process(p.brand).split() for p in products},
        )

    def extract(self, text: str) -> Slots:
        slots = Slots()
        emails = EMAIL.findall(text)
        slots.email = emails[0].lower() if emails else None
        without_emails = EMAIL.sub(" ", text)
        slots.order_id, slots.malformed_order_id = _order_id(without_emails)
        slots.product_skus = self._products(without_emails)
        return slots

    def _products(self, text: str) -> list[str]:
        skus = [m.upper() for m in _SKU.findall(text) if m.upper() in self._catalog.by_sku]
        if skus:
            return list(dict.fromkeys(skus))
        return self._names.mentioned(text)

    def carry(self, slots: Slots, intent: str, memory: Mapping[str, Any]) -> Slots:
        """Fill what this turn left open from what earlier turns established."""
        open_order = slots.order_id is None and not slots.malformed_order_id
        if open_order and intent in ORDER_INTENTS and memory.get("order_id"):
            slots.order_id = memory["order_id"]
            slots.carried.append("order_id")
        if not slots.product_skus and intent == "product_info" and memory.get("product_skus"):
            slots.product_skus = list(memory["product_skus"])
            slots.carried.append("product_skus")
        return slots


def _order_id(text: str) -> tuple[str | None, str | None]:
    strict = ORDER_ID.search(text)
    if strict:
        return normalize_order_id(strict.group(1)), None
    for match in _ORDER_REF.finditer(text):
        normal = normalize_order_id(match.group(1) or match.group(2))
        if normal:
            return normal, None
        return None, match.group(0).strip()
    return None, None


def _model_name(name: str, brand: str) -> list[str]:
    """A product name's words without its brand: "Mooring 35 Travel Backpack"."""
    words = utils.default_process(name).split()
    brand_words = set(utils.default_process(brand).split())
    return [w for w in words if w not in brand_words] or words


class ProductNames:
    """Which products a message names, tolerating typos and partial names.

    Each word of a product's name weighs its inverse document frequency over the catalog, so
    "mooring 35" names one backpack while "travel backpack" names none. A product is mentioned
    when the message's words (fuzzy, rapidfuzz) cover enough of its model name's weight
    (brand left out), including one of its distinctive words; or when two or more of its words,
    brand included, and one of them distinctive or the brand, single it out of the catalog
    ("valdren scree", "kavelo french press": a brand and what it is).
    """

    def __init__(self, names: dict[str, list[str]], brands: dict[str, list[str]]) -> None:
        self._skus = list(names)
        full = {sku: [*words, *brands.get(sku, [])] for sku, words in names.items()}
        self._vocabulary = sorted({w for words in full.values() for w in words})
        position = {w: n for n, w in enumerate(self._vocabulary)}
        frequency = {w: sum(w in words for words in full.values()) for w in self._vocabulary}
        idf = np.array([math.log(1 + len(names) / frequency[w]) for w in self._vocabulary])
        self._weights = np.zeros((len(self._skus), len(self._vocabulary)), dtype=np.float32)
        for row, words in enumerate(names.values()):
            for word in set(words):
                self._weights[row, position[word]] = idf[position[word]]
        self._totals = self._weights.sum(axis=1)
        self._full = np.zeros_like(self._weights)  # brand included
        self._has = np.zeros((len(self._skus), len(self._vocabulary)), dtype=bool)
        self._brand = np.zeros(len(self._vocabulary), dtype=bool)
        for row, sku in enumerate(self._skus):
            columns = [position[w] for w in full[sku]]
            self._has[row, columns] = True
            self._full[row, columns] = idf[columns]
            self._brand[[position[w] for w in brands.get(sku, [])]] = True
        # A name is only recognised through at least one word few products share ("mooring"),
        # never through generic ones alone ("2 tent").
        kinds = {words[-1] for words in names.values()}  # "tent", "backpack": what it is
        self._distinctive = np.array(
            [
                frequency[w] <= 4 and w.isalpha() and len(w) >= 4 and w not in kinds
                for w in self._vocabulary
            ],
            dtype=bool,
        )
        # Words that only ever come with one kind ("french" press, "cast" iron skillet) say
        # what it is, not which one: with that kind they still name two products or more.
        kind_of = {w: {words[-1] for words in names.values() if w in words} for w in frequency}
        self._singles_out = self._brand | (
            self._distinctive
            & np.array(
                [frequency[w] == 1 or len(kind_of[w]) > 1 for w in self._vocabulary], dtype=bool
            )
        )
        self._short = np.array([len(w) < 5 for w in self._vocabulary], dtype=bool)

    def mentioned(self, text: str) -> list[str]:
        words = utils.default_process(text).split()
        if not words or not self._skus:
            return []
        similarity = process.cdist(self._vocabulary, words, scorer=fuzz.ratio, workers=1)
        best_match = similarity.max(axis=1)
        # Short words match exactly when they narrow a name down: "and" is not "band".
        present = (best_match >= TOKEN_MATCH_FROM) & ((best_match >= 100) | ~self._short)
        loose = best_match >= TOKEN_MATCH_FROM
        where = similarity.argmax(axis=1)  # the message word each name word matched
        said = loose.copy()
        # How often the message says each name word: a brand said twice can name two products
        # ("the sorrel hiking boots or the sorrel walking sandals").
        times = (similarity >= TOKEN_MATCH_FROM).sum(axis=1)
        found: list[int] = []
        while len(found) < 3:
            named = self._named(loose, present) - set(found)
            if found:  # a second name needs a brand or distinctive word of its own
                named = {i for i in named if (self._has[i] & present & self._singles_out).any()}
            if not named:
                break
            # The best-matched name takes its words; another product needs words of its own
            # ("quellon beacon or tidevann echo": two; "nimbus merino tee ... wool": one).
            # Names matched equally well are all kept: the customer chooses ("vidal").
            weight = {i: float(self._full[i] @ loose) for i in named}
            top = max(weight.values())
            tied = sorted(i for i in named if weight[i] >= top - 1e-6)
            found += tied
            times = times - (self._has[tied].any(axis=0) & self._singles_out)
            taken = self._singles_out & (times <= 0)
            loose, present = loose & ~taken, present & ~taken
        # In the order the customer wrote them ("X or Y": X first).
        found.sort(key=lambda i: self._first_said(where, self._has[i] & said))
        return [self._skus[i] for i in found[:3]]

    def _first_said(self, where: np.ndarray, matched: np.ndarray) -> float:
        """Where the message names the product: on average over the words of its name it has,
        brand aside ("the sorrel hiking boots or the sorrel walking sandals": boots first)."""
        own = matched & ~self._brand
        words = own if own.any() else matched
        return float(where[words].mean()) if words.any() else 0.0

    def _named(self, loose: np.ndarray, present: np.ndarray) -> set[int]:
        matched = loose.astype(np.float32)
        coverage = (self._weights @ matched) / self._totals
        distinctive = (self._weights > 0) @ (matched * self._distinctive) > 0
        covered = np.flatnonzero(distinctive & (coverage >= PRODUCT_MATCH_FROM))
        return {int(i) for i in covered} | self._narrowed(present)

    def _narrowed(self, present: np.ndarray) -> set[int]:
        matched = self._has & present  # each product's words the message has
        counts = matched.sum(axis=1)
        strong = matched @ self._singles_out
        named: set[int] = set()
        for row in np.flatnonzero((counts >= 2) & (strong > 0)):
            columns = matched[row]
            if not (columns & ~self._brand).any():
                continue  # a brand's name alone ("harbor & pine") names no one product
            alike = int(self._has[:, columns].all(axis=1).sum())
            if alike <= NARROWED_TO:
                named.add(int(row))
        return named
