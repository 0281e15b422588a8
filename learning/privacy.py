"""Personal data out of training examples: emails, phone numbers, names, street addresses and
card numbers become `[EMAIL]`, `[PHONE]`, `[NAME]`, `[ADDRESS]` and `[CARD]`.

Regular expressions (with a Luhn check for cards) rather than a named-entity model: presidio and
spaCy fetch their models at run time, which this project never does. Order ids, prices, dates
and tracking numbers stay: a model must learn to copy them from its sources.

The store's own words stay too (`StoreWords`): "Mooring 35" in a product's name reads like a
street and its number ("-ring" streets are German), "measuring 55 x 40" too, and the store's
phone number and email in its FAQ are no customer's. A street, phone, card or email that the
catalog or the FAQ holds word for word is kept, and so is a person's name inside a brand or a
product's name; a customer called Pine who writes "Pine" alone is still [NAME].
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")  # Slack: <@U123> or <@U123|sam>
# Card numbers: one run of digits, or groups as printed on cards (4-4-4-4, 4-6-5).
_CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4,6}\1\d{4,5}(?:\1\d{1,4})?)(?![\w-])")
_GROUPED_CARD = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}")
# A phone number starts with +, 00 or the trunk 0 (never inside an id, a date or a price).
_PHONE = re.compile(
    r"(?<![\w+\-/.:])(?:(?:\+|00)\d{1,3}[ -]?(?:\(0\)[ -]?)?\d|\(0\d{1,4}\)"
    r"[ -]?\d|0\d)(?:[ -]?\d){6,13}(?!\w)"
)
_STREET_WORDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Square|Sq|"
    "Terrace|Close|Crescent|Gardens|Grove|Row|Mews|Parade"
)
_ADDRESSES = (
    # 221B Baker Street; 12 baker street
    re.compile(rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'-]*\.?\s+){{1,3}}(?:{_STREET_WORDS})\b"),
    re.compile(r"\b\d{1,5}[a-z]?\s+[a-z]+\s+(?:street|road|avenue|lane|drive|boulevard)\b"),
    # Keizersgracht 123-2, Hauptstraße 5b
    re.compile(
        r"\b[^\W\d_]+(?:straat|laan|weg|gracht|plein|kade|dijk|singel|steeg|hof|markt|"
        r"straße|strasse|gasse|allee|ring)\s+\d{1,5}(?:-\d{1,4}|\s?[a-zA-Z]\b)?",
        re.IGNORECASE,
    ),
    # Postcodes: 1015 CJ (not 1000 ML), SW1A 1AA
    re.compile(r"\b[1-9]\d{3}\s?(?!ML|KG|CM|MM|GB|MB|KB|TB|AM|PM|HZ|XL|XS|EU|US|UK)[A-Z]{2}\b"),
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"),
)
PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "name": "[NAME]",
                "address": "[ADDRESS]", "card": "[CARD]"}  # fmt: skip


class StoreWords:
    """The store's own texts (product names, brands, SKUs, descriptions, FAQ entries), to tell
    its vocabulary from personal data.

    `holds` says whether a found piece of text appears in them word for word (case, spacing and
    line breaks aside): a street, phone or email found there is the store's. `named` finds the
    store's names (`names`: brands, product names, SKUs) in a text: a person's name inside one
    ("Pine" in "Harbor & Pine") is the brand's, while a customer called Pine who writes "Pine"
    alone keeps their privacy."""

    def __init__(self, texts: Iterable[str], names: Iterable[str] = ()) -> None:
        joined = " \x1f ".join(" ".join(_tokens(t)) for t in texts)
        self._joined = f" {joined} "
        wanted = sorted({" ".join(n.split()) for n in names if n.strip()}, key=len, reverse=True)
        either = "|".join(r"\s+".join(map(re.escape, n.split())) for n in wanted)
        self._names = re.compile(rf"(?i)(?<!\w)(?:{either})(?!\w)") if either else None

    def holds(self, found: str) -> bool:
        words = _tokens(found)
        return bool(words) and f" {' '.join(words)} " in self._joined

    def named(self, text: str) -> list[tuple[int, int]]:
        """Where the store's names are in `text`."""
        return [m.span() for m in self._names.finditer(text)] if self._names else []


NO_STORE_WORDS = StoreWords(())
STORE_KINDS = frozenset({"email", "phone", "address", "card"})  # never "name"


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.lower())


def scrub(
    text: str,
    names: Iterable[str] = (),
    keep: Iterable[str] = (),
    store: StoreWords = NO_STORE_WORDS,
) -> tuple[str, Counter[str]]:
    """`text` with emails, phone numbers, names, addresses and card numbers replaced by
    placeholders, and how many of each kind were replaced.

    `names` are the people this text may name (a full name matches in any case, each part of it
    when capitalised). `keep` holds numbers from the records (a tracking number made of digits
    only may look like a card or a phone number): those stay; so does what `store`, the
    store's own texts, holds word for word (its products' names, its phone number)."""
    counts: Counter[str] = Counter()
    kept = {_digits(k) for k in keep}

    def replace(kind: str, pattern: re.Pattern[str], text: str) -> str:
        named = store.named(text) if kind == "name" else []

        def one(match: re.Match[str]) -> str:
            found = match.group(0)
            if not _personal(kind, found, kept) or (kind in STORE_KINDS and store.holds(found)):
                return found
            if any(start < match.end() and match.start() < end for start, end in named):
                return found  # part of a brand or product name
            counts[kind] += 1
            return PLACEHOLDERS[kind]

        return pattern.sub(one, text)

    text = replace("email", _EMAIL, text)
    text = replace("name", _MENTION, text)
    text = replace("card", _CARD, text)
    text = replace("phone", _PHONE, text)
    for address in _ADDRESSES:
        text = replace("address", address, text)
    people = _names_pattern(tuple(sorted(set(names))))
    if people is not None:
        text = replace("name", people, text)
    return text, counts


def _personal(kind: str, found: str, kept: set[str]) -> bool:
    digits = _digits(found)
    if kind in ("card", "phone") and digits in kept:
        return False
    if kind == "card":
        grouped = _GROUPED_CARD.fullmatch(found) is not None
        return 13 <= len(digits) <= 19 and (luhn(digits) or grouped)
    if kind == "phone":
        return 9 <= len(digits) <= 15
    return True


def luhn(digits: str) -> bool:
    """Whether a number passes the Luhn checksum every payment card number passes."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return bool(digits) and total % 10 == 0


@lru_cache(maxsize=1024)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Full names in any case ("anna de vries"); single words only with their capital, so that
    a customer called Mark leaves "mark the parcel" alone."""
    full = {" ".join(n.split()) for n in names if n.strip()}
    parts = {
        p
        for n in full
        for p in re.split(r"[\s,]+", n)
        if len(p) >= 2 and p[0].isupper() and p.replace("-", "").isalpha()
    }
    longest_first = sorted(full, key=len, reverse=True)
    anycase = [r"\s+".join(map(re.escape, n.split())) for n in longest_first if " " in n]
    either = [f"(?i:{'|'.join(anycase)})"] if anycase else []
    either += map(re.escape, sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{'|'.join(either)})(?!\w)") if either else None


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def record_numbers(texts: Iterable[str]) -> set[str]:
    """The long numbers in the records (tracking, invoice numbers): facts, never personal."""
    return {
        _digits(t)
        for text in texts
        for t in re.findall(r"[\w-]*\d[\w-]*", text)
        if len(_digits(t)) >= 8
    }
