"""Product answers: the attribute asked for first, in a sentence or two, from the record.

- One product and a precise question: that attribute (or price, stock, delivery), with "Yes"
  only when the value itself settles a yes/no question ("induction?" -> "all hobs including
  induction"); otherwise the value as the record states it. Nothing is ever guessed.
- "Tell me about X": the whole fact sheet.
- Several matches: offered as choices (quick replies), with the asked attribute for each.
- Two named products compared: both values side by side, and which one wins when both values
  are numbers in the same unit.
"""

from __future__ import annotations

import re
from dataclasses import replace

from engine.generators import phrases
from engine.lookup import Scored
from engine.product_questions import (
    NEGATIVE,
    ProductQuestion,
    forms,
    missing_concept,
    read_question,
    words,
)
from engine.types import Answer, Source
from kb.models import Product

# How a sentence says an attribute; other keys read "the <key> of <product> is <value>".
VERBS = {
    "material": "is made of",
    "weight": "weighs",
    "hob": "works on",
    "colour": "comes in",
    "sizes": "comes in sizes",
    "dimensions": "measures",
    "capacity": "holds",
    "sold_as": "is sold as",
    "warranty": "comes with a warranty of",
    "waterproof": "is waterproof",
    "rated_to": "is rated to",
    "fill": "is filled with",
}
_NUMBER = re.compile(r"(-?\d+(?:[.,]\d+)?)\s*([^\d\s,;]*)")
_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)")
_UP_TO = re.compile(r"\bup to (\d+(?:\.\d+)?)")
NAMED = 1.0  # the score of a product the customer named (slots), not one search found


def product_answer(text: str, found: list[Scored[Product]]) -> Answer:
    if not found:
        return Answer(phrases.NO_PRODUCT, grounded=False, failed=True)
    products = [s.record for s in found]
    sources = tuple(
        Source("product", s.record.sku, s.record.name, round(s.score, 4)) for s in found
    )
    question = read_question(text, products)
    named = [s.record for s in found if s.score >= NAMED]
    if len(named) >= 2 and question.comparing:
        return Answer(compare(named[0], named[1], question), sources[:2])
    if len(products) == 1:
        return Answer(about(products[0], question, text), sources)
    return _choices(products, question, sources)


def about(product: Product, question: ProductQuestion, text: str) -> str:
    """One product: the asked attributes first, or the fact sheet for a general question."""
    asked = [k for k in question.attributes if _has(product, k)]
    if asked:
        # Yes or no answers the first; a second attribute is only stated.
        later = replace(question, yes_no=False)
        return " ".join(
            _sentence(product, k, question if n == 0 else later) for n, k in enumerate(asked)
        )
    missing = missing_concept(text, product)
    if missing and not question.general:
        return (
            f"The details I have for the {_named(product)} do not say {missing}. "
            f"Here is what they say: {product_facts(product)}"
        )
    return product_facts(product)


def _has(product: Product, key: str) -> bool:
    return (
        key in ("price", "stock")
        or key in product.attributes
        or (key == "delivery" and bool(product.delivery_estimate))
    )


def _named(product: Product) -> str:
    return f"{product.name} ({product.sku})"


def _sentence(product: Product, key: str, question: ProductQuestion) -> str:
    if key == "price":
        return f"The {_named(product)} costs {product.price}."
    if key in ("stock", "delivery"):
        return _availability(product, question.yes_no)
    value = product.attributes[key]
    verdict = verdict_for(value, question)
    verb = _agreeing(VERBS[key], product.name) if key in VERBS else None
    said = (
        f"the {_named(product)} {verb} {value}"
        if verb
        else f"the {label(key)} of the {_named(product)} is {value}"
    )
    return f"{verdict}, {said}." if verdict else f"{said[0].upper()}{said[1:]}."


def _agreeing(verb: str, name: str) -> str:
    """ "weighs" for a kettle, "weigh" for boots (a name ending in a plural noun)."""
    if not (name.endswith("s") and not name.endswith("ss")):
        return verb
    first, _, rest = verb.partition(" ")
    first = "are" if first == "is" else first.removesuffix("s")
    return f"{first} {rest}".strip()


def _availability(product: Product, yes_no: bool) -> str:
    estimate = product.delivery_estimate.rstrip(".")
    if product.stock > 0:
        yes = "Yes, the" if yes_no else "The"
        text = (
            f"{yes} {_named(product)} {_agreeing('is', product.name)} in stock: "
            f"{product.stock} available."
        )
        return f"{text} {estimate}." if estimate else text
    text = f"The {_named(product)} {_agreeing('is', product.name)} out of stock at the moment."
    return f"{text} {estimate}." if estimate else text


def label(key: str) -> str:
    return key.replace("_", " ")


def verdict_for(value: str, question: ProductQuestion) -> str | None:
    """ "Yes" or "No" when the value settles a yes/no question; None when it does not."""
    if not question.yes_no:
        return None
    numbers = [w for w in question.test_words if _is_number(w)]
    if numbers:
        return _number_verdict(float(numbers[0]), value)
    said = set(words(value))
    # "latex-free" does not answer "is it latex?" with yes, nor "latex" "is it latex free?".
    if NEGATIVE & said != NEGATIVE & set(question.test_words) or "faux" in said:
        return None
    tested = [w for w in question.test_words if len(w) > 2 and w not in NEGATIVE]
    if any(forms(w) & said for w in tested):
        return "Yes"
    return None


def _number_verdict(number: float, value: str) -> str | None:
    if (span := _RANGE.search(value)) is not None:
        low, high = float(span.group(1)), float(span.group(2))
        return "Yes" if low <= number <= high else "No"
    if (limit := _UP_TO.search(value)) is not None:
        return "Yes" if number <= float(limit.group(1)) else "No"
    if number in [float(w) for w in words(value) if _is_number(w)]:
        return "Yes"
    return None


def _is_number(word: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)?", word))


def _choices(
    products: list[Product], question: ProductQuestion, sources: tuple[Source, ...]
) -> Answer:
    key = next(iter(question.attributes), None)
    lines = []
    for p in products:
        if key is not None and key in p.attributes:
            detail = f"{label(key)} {p.attributes[key]}"
        else:
            detail = f"{p.price}, {stock_phrase(p)}"
        lines.append(f"- {_named(p)}: {detail}")
    text = "I found several that match. Which one do you mean?\n" + "\n".join(lines)
    return Answer(text, sources, quick_replies=tuple(p.name for p in products))


def compare(first: Product, second: Product, question: ProductQuestion) -> str:
    """Two named products side by side, on the asked attribute or on what differs."""
    key = next((k for k in question.attributes if _has(first, k) and _has(second, k)), None)
    if key is None or key in ("stock", "delivery"):
        return _differences(first, second)
    a, b = _value(first, key), _value(second, key)
    text = f"{_named(first)}: {label(key)} {a}. {_named(second)}: {label(key)} {b}."
    if a == b:
        return f"{text} Both are the same."
    winner = _winner(first, second, a, b, question.smaller_wins)
    if winner is None:
        return text
    if question.comparative:
        return f"{text} The {winner.name} is {question.comparative}."
    lower = "lower" if question.smaller_wins else "higher"
    return f"{text} The {winner.name} has the {lower} {label(key)}."


def _value(product: Product, key: str) -> str:
    return product.price if key == "price" else product.attributes[key]


def _winner(first: Product, second: Product, a: str, b: str, smaller: bool) -> Product | None:
    x, y = _NUMBER.search(a.replace("EUR ", "")), _NUMBER.search(b.replace("EUR ", ""))
    if x is None or y is None or x.group(2) != y.group(2):
        return None  # not numbers in the same unit: the customer compares them
    left, right = float(x.group(1).replace(",", ".")), float(y.group(1).replace(",", "."))
    if left == right:
        return None
    return first if (left < right) == smaller else second


def _differences(first: Product, second: Product) -> str:
    lines = [f"{_named(first)} costs {first.price}; {_named(second)} costs {second.price}."]
    shared = [k for k in first.attributes if k in second.attributes]
    differ = [k for k in shared if first.attributes[k] != second.attributes[k]]
    lines += [
        f"{label(k).capitalize()}: {first.attributes[k]} against {second.attributes[k]}."
        for k in differ
    ]
    return " ".join(lines)


def product_facts(product: Product) -> str:
    """The whole fact sheet: price, stock, delivery, attributes and the description."""
    attributes = "; ".join(f"{k}: {v}" for k, v in product.attributes.items())
    facts = [f"{product.name} by {product.brand} ({product.sku}) costs {product.price}."]
    facts.append(stock_phrase(product).capitalize() + ".")
    if product.delivery_estimate:
        facts.append(product.delivery_estimate.rstrip(".") + ".")
    if attributes:
        facts.append(f"Details: {attributes}.")
    if product.description:
        facts.append(product.description)
    return " ".join(facts)


def stock_phrase(product: Product) -> str:
    return f"in stock ({product.stock} available)" if product.stock > 0 else "out of stock"
