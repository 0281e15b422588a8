"""What a product question asks: which attribute, yes or no, a comparison, or everything.

The attributes are the catalog's own (`Product.attributes` keys, plus `price`, `stock` and
`delivery`): a question asks for a key when its words name the key ("what material", "blade
length"), a synonym of one of the key's words ("how heavy" -> weight, "induction" -> hob), or
words of the value itself ("goose or duck" -> the fill "700 fill power goose down"). Only the
product's own keys are candidates, so a store with other attributes works the same way; the
synonyms are plain English for common attribute words, never per product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.models import Product


def _set(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Question words for common attribute-key words (the key's own words count without listing).
SYNONYMS: dict[str, frozenset[str]] = {
    k: _set(v)
    for k, v in {
        "weight": "weigh weighs heavy heavier heaviest light lighter lightest kg kilo kilos grams",
        "capacity": "litres liters litre liter hold holds people persons person ppl sleeps "
        "big bigger biggest makes make size",
        "volume": "ml litres liters big bigger bottle",
        "dimensions": "size big bigger measure measurements wide width tall cm fit",
        "sizes": "size sizes",
        "size": "big bigger inch",
        "water": "waterproof rain swim swimming pool shower underwater deep depth wet ip",
        "resistance": "waterproof",
        "column": "waterproof rain",
        "waterproof": "deep depth underwater swim water dive diving",
        "hob": "induction hobs stove gas ceramic cooktop stovetop electric",
        "colour": "color colours colors",
        "battery": "last lasts charge hours runtime long longer",
        "warranty": "guarantee guaranteed",
        "material": "made fabric",
        "temperature": "warm warmer warmth cold temp degrees minus",
        "rated": "warm warmer warmth cold temp degrees minus",
        "insulation": "hot cold warm keep keeps",
        "thickness": "thick thicker thin",
        "length": "long longer extend extends tall",
        "brightness": "bright brighter lumens",
        "fuel": "gas cartridge",
        "output": "watts watt charge laptop fast power",
        "wattage": "watts watt fast power",
        "max": "maximum",
        "load": "carry hold holds heavy",
        "fill": "down synthetic",
        "noise": "cancelling canceling anc quiet",
        "connectivity": "bluetooth wifi connect pair multipoint",
        "laptop": "inch",
        "contents": "included include comes come inside",
        "bulb": "bulbs lightbulb",
        "movement": "silent quiet tick ticking ticks noisy",
        "scent": "smell smells fragrance",
        "burn": "burns",
        "resolution": "film video record 4k",
        "ingredients": "contain contains",
        "sold": "pair single",
        "pieces": "pans pots",
        "spf": "protection",
        "price": "cost costs much expensive cheap cheaper cheapest pay euro euros eur",
        "stock": "available availability sold restock back",
        "delivery": "ship ships shipping deliver delivered arrive dispatch",
    }.items()
}
# Comparatives that pick the smaller value; other comparisons pick the larger one.
SMALLER = _set("lighter lightest smaller smallest cheaper cheapest less fewer shorter thinner")
# Comparatives that read "the X is lighter"; others read "has the higher <attribute>".
ADJECTIVES = _set(
    "lighter smaller cheaper shorter thinner heavier bigger larger longer warmer brighter thicker"
)
COMPARING = _set("vs versus than compare comparison difference differ between or")
GENERAL = re.compile(
    r"\b(tell me (more )?about|info|information|details?|describe|specs?)\b", re.IGNORECASE
)
_WH = _set("what whats which how where when why who")
_HOW_MUCH = re.compile(r"\bhow much\b", re.IGNORECASE)
_YES_NO = re.compile(
    r"^\W*(is|are|does|do|can|could|will|would|has|have|did)\b|\?\s*$"
    r"|\b(is|are|does|do|can|will) (it|that|this|they|i|you)\b",
    re.IGNORECASE,
)
_STOP = _set(
    "a an the is are it its it's this that these those of to in on for with and or do does can "
    "i my me you your we be have has what which how much many there any some use get"
)
NEGATIVE = _set("not no without free non")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
PSEUDO = ("price", "stock", "delivery")  # asked like attributes, answered from the record


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class ProductQuestion:
    """What the customer asks about the product(s) they name."""

    attributes: tuple[str, ...]  # keys asked for, best first (may include PSEUDO keys)
    yes_no: bool  # "is it...", "can I...", "...induction?"
    comparing: bool  # "which is lighter", "difference between"
    general: bool  # "tell me about X": the whole fact sheet
    smaller_wins: bool  # "lighter", "cheaper": the smaller value is the better
    comparative: str | None  # "lighter": how the answer names the winner
    test_words: tuple[str, ...]  # the words a yes/no question tests the value for


def read_question(text: str, products: list[Product]) -> ProductQuestion:
    said = words(text)
    named = {w for p in products for w in words(f"{p.name} {p.brand}")}
    content = [w for w in said if w not in _STOP and w not in named]
    keys = _ranked_keys({f for w in content for f in forms(w)}, products)
    # A second attribute only when the question names it as clearly ("max weight": the max
    # load, and the weight too); "good in heavy rain, what's the water column" asks one.
    second = len(keys) > 1 and keys[1][1] >= max(keys[0][1], 2.0)
    asked = tuple(keys[:2]) if second else tuple(keys[:1])
    attributes = tuple(k for k, _score in asked)
    if not attributes and _HOW_MUCH.search(text):
        attributes = ("price",)  # "how much is the granite 32"
    return ProductQuestion(
        attributes=attributes,
        # "goose or duck?" is a choice, "what material is it?" asks for the value
        yes_no=bool(_YES_NO.search(text)) and "or" not in said and not _WH & set(said[:1]),
        comparing=len(products) > 1 and bool(COMPARING & set(said) or _comparative(said)),
        # "tell me about X", or the name alone
        general=not attributes and (bool(GENERAL.search(text)) or not content),
        smaller_wins=bool(SMALLER & set(said)),
        comparative=next((w for w in said if w in ADJECTIVES), None),
        test_words=tuple(w for w in content if not _is_key_word(w, attributes)),
    )


def _comparative(said: list[str]) -> bool:
    return "which" in said and any(w.endswith("er") and len(w) > 4 for w in said)


def _ranked_keys(content: set[str], products: list[Product]) -> list[tuple[str, float]]:
    """The products' keys the question's words (and their stems) name, best first."""
    scores: dict[str, float] = {}
    for product in products:
        for key in (*product.attributes, *PSEUDO):
            value = product.attributes.get(key, "")
            score = 2.0 * sum(_names_word(w, content) for w in key.split("_"))
            score += sum(1.0 for w in words(value) if len(w) > 2 and w in content)
            if score > 0:
                scores[key] = max(scores.get(key, 0.0), score)
    return sorted(scores.items(), key=lambda item: -item[1])


def _names_word(key_word: str, content: set[str]) -> bool:
    said = {key_word, key_word + "s", key_word.rstrip("s")} & content
    return bool(said or SYNONYMS.get(key_word, frozenset()) & content)


def _is_key_word(word: str, keys: tuple[str, ...]) -> bool:
    """ "hair" in "good for oily hair" names the key hair_type; "induction" tests its value."""
    return any(word in (k, k + "s") for key in keys for k in key.split("_"))


def forms(word: str) -> set[str]:
    """The word and its plain stems: "checked" -> "check", "years" -> "year"."""
    stems = {word, word + "s", word.removesuffix("s")}
    if word.endswith("ed") and len(word) > 4:
        stems |= {word[:-2], word[:-1]}
    return stems


def missing_concept(text: str, product: Product) -> str | None:
    """An attribute word the question uses that the product's record does not have
    ("warranty" for a pack with no warranty given): never answered by a guess."""
    said = set(words(text))
    for concept, phrase in UNSTATED.items():
        if _names_word(concept, said) and not any(concept in k for k in product.attributes):
            if concept == "waterproof" and any("water" in k for k in product.attributes):
                continue
            return phrase
    return None


# Attribute words customers ask about whose absence from a record is worth saying.
UNSTATED = {
    "warranty": "its warranty",
    "battery": "its battery",
    "waterproof": "whether it is waterproof",
}
