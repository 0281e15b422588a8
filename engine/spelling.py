"""Spelling correction with SymSpell (symspellpy and its English frequency dictionary).

Only words that are not in the dictionary are touched, and never the store's own vocabulary:
product names, brands, categories, SKUs, order ids, emails, links, anything with a digit in it,
and the words of the store's FAQ. The original text is always kept beside the corrected one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from importlib import resources

from symspellpy import SymSpell, Verbosity

from engine.types import Correction

# Spans that are never words to correct: emails, links, order ids, SKUs, tokens with digits.
_PROTECTED_SPAN = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # email
    r"|(?:https?://|www\.)\S+"  # link
    r"|\b[\w-]*\d[\w-]*\b",  # order ids, SKUs, tracking numbers, prices, anything with a digit
)
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
MIN_LENGTH = 4  # shorter words are too often slang or abbreviations to correct safely
# Chat words SymSpell's dictionary does not know, which customers write on purpose.
CHAT_WORDS = (
    "pls", "plz", "thx", "thanks", "thankyou", "okay", "ok", "hiya", "hey", "yeah", "yep",
    "nope", "asap", "btw", "fyi", "lol", "dont", "cant", "wont", "didnt", "doesnt", "isnt",
    "wasnt", "havent", "hasnt", "im", "ive", "youre", "whats", "wheres", "hows", "gonna",
    "wanna", "gotta", "login", "logout", "signup", "email", "emails", "online", "checkout",
    "paypal", "voucher", "vouchers", "refundable", "trackable", "unsubscribe", "chatbot",
)  # fmt: skip
# Names of payment methods, carriers and the like that customers write whether or not the
# store's own texts do ("do you take amex" was corrected to "alex", "gpay" to "gay").
COMMERCE_WORDS = (
    "amex", "gpay", "applepay", "googlepay", "klarna", "ideal", "bancontact", "maestro",
    "sofort", "giropay", "afterpay", "clearpay", "venmo", "revolut", "iban", "dhl", "ups",
    "fedex", "usps", "postnl", "dpd", "gls", "bpost", "hermes", "evri", "vat", "btw", "sku",
    "wifi", "bluetooth", "usb",
)  # fmt: skip

# What those short names stand for, added for the search and the embedding as places are
# ("do you take amex" -> "do you take amex (American Express)"): the FAQ spells them out.
SHORTHANDS = {
    "amex": "American Express", "gpay": "Google Pay", "googlepay": "Google Pay",
    "applepay": "Apple Pay", "cod": "cash on delivery", "bnpl": "buy now, pay later",
    "t&c": "terms and conditions", "tnc": "terms and conditions", "eta": "delivery time",
}  # fmt: skip
_SHORTHAND = re.compile(rf"(?<![\w&])({'|'.join(map(re.escape, SHORTHANDS))})(?![\w&])", re.I)


def spell_out(text: str) -> str:
    """`text`, with what its shorthands stand for added in brackets."""
    meant = dict.fromkeys(SHORTHANDS[m.lower()] for m in _SHORTHAND.findall(text))
    return f"{text} ({', '.join(meant)})" if meant else text


def load_symspell() -> SymSpell:
    """SymSpell with its English word and word-pair frequencies."""
    symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    package = resources.files("symspellpy")
    symspell.load_dictionary(
        str(package.joinpath("frequency_dictionary_en_82_765.txt")), term_index=0, count_index=1
    )
    symspell.load_bigram_dictionary(
        str(package.joinpath("frequency_bigramdictionary_en_243_342.txt")),
        term_index=0,
        count_index=2,
    )
    return symspell


class SpellingCorrector:
    def __init__(self, store_vocabulary: Iterable[str] = (), symspell: SymSpell | None = None):
        self._symspell = symspell or load_symspell()
        self._protected: set[str] = {*CHAT_WORDS, *COMMERCE_WORDS}
        for text in store_vocabulary:
            for word in _WORD.findall(text):
                self._protected.add(word.lower())
        for word in self._protected:
            # Known to SymSpell too, so that a misspelt brand can be corrected towards it.
            self._symspell.create_dictionary_entry(word, 10_000)

    def correct(self, text: str) -> Correction:
        changes: list[tuple[str, str]] = []
        protected = [m.span() for m in _PROTECTED_SPAN.finditer(text)]

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            if any(start <= match.start() < end for start, end in protected):
                return word
            better = self._better(word)
            if better != word:
                changes.append((word, better))
            return better

        self._context = _WORD.findall(text.lower())
        corrected = _WORD.sub(fix, text)
        return Correction(text, corrected, tuple(changes))

    def known_share(self, text: str) -> float:
        """Share of the longer words that are English or the store's own (1.0 if none)."""
        words = [w.lower() for w in _WORD.findall(text) if len(w) >= 3]
        if not words:
            return 1.0
        known = sum(1 for w in words if w in self._protected or w in self._symspell.words)
        return known / len(words)

    def _better(self, word: str) -> str:
        lower = word.lower()
        if len(word) < MIN_LENGTH or lower in self._protected or "'" in word:
            return word
        if lower in self._symspell.words:
            return word
        distance = 1 if len(word) <= 5 else 2
        suggestions = self._symspell.lookup(lower, Verbosity.CLOSEST, max_edit_distance=distance)
        if not suggestions:
            return word
        best = max(suggestions, key=lambda s: self._fit(lower, s.term, s.count))
        return _same_casing(word, best.term)

    def _fit(self, word: str, candidate: str, count: int) -> float:
        """How well `candidate` fits where `word` stands: its frequency and its neighbours."""
        words = self._context
        position = words.index(word) if word in words else -1
        before = words[position - 1] if position > 0 else None
        after = words[position + 1] if 0 <= position < len(words) - 1 else None
        pairs = self._symspell.bigrams
        context = sum(
            math.log1p(pairs.get(pair, 0))
            for pair in (f"{before} {candidate}", f"{candidate} {after}")
            if None not in pair.split()
        )
        return math.log(count) + 2.0 * context


def _same_casing(original: str, replacement: str) -> str:
    if original.isupper():
        return replacement.upper()
    if original[0].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement
