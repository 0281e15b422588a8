"""Spelling correction with SymSpell (symspellpy and its English frequency dictionary).

Only words that are not in the dictionary are touched, and never the store's own vocabulary:
product names, brands, categories, SKUs, order ids, emails, links, anything with a digit in it,
and the words of the store's FAQ. The original text is always kept beside the corrected one.
"""

from __future__ import annotations

import math
import re
import threading
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
    """SymSpell with its English word and word-pair frequencies (seconds and about 200 MB:
    `english` keeps one for the process)."""
    symspell = SymSpell(max_dictionary_edit_distance=MAX_DISTANCE, prefix_length=PREFIX_LENGTH)
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


MAX_DISTANCE, PREFIX_LENGTH = 2, 7
STORE_WORD_COUNT = 10_000  # how common a store word counts as, beside SymSpell's frequencies
_english: SymSpell | None = None
_english_lock = threading.Lock()


def english() -> SymSpell:
    """The process's one English dictionary, loaded at first use. Correctors only read it
    (a lookup changes nothing in it), so every corrector of every engine shares it."""
    global _english
    with _english_lock:
        if _english is None:
            _english = load_symspell()
        return _english


class SpellingCorrector:
    """Corrects towards English (the shared dictionary) and the store's own words (a small
    dictionary of its own, built in milliseconds: a new catalog or FAQ costs no reload of the
    English one)."""

    def __init__(self, store_vocabulary: Iterable[str] = (), dictionary: SymSpell | None = None):
        self._english = dictionary or english()
        self._protected: set[str] = {*CHAT_WORDS, *COMMERCE_WORDS}
        for text in store_vocabulary:
            for word in _WORD.findall(text):
                self._protected.add(word.lower())
        # Known to a SymSpell too, so that a misspelt brand can be corrected towards it.
        self._store = SymSpell(
            max_dictionary_edit_distance=MAX_DISTANCE, prefix_length=PREFIX_LENGTH
        )
        for word in self._protected:
            self._store.create_dictionary_entry(word, STORE_WORD_COUNT)

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
        known = sum(1 for w in words if w in self._protected or w in self._english.words)
        return known / len(words)

    def _better(self, word: str) -> str:
        lower = word.lower()
        if len(word) < MIN_LENGTH or lower in self._protected or "'" in word:
            return word
        if lower in self._english.words:
            return word
        distance = 1 if len(word) <= 5 else 2
        suggestions = self._closest(lower, distance)
        if not suggestions:
            return word
        best = max(suggestions, key=lambda term: self._fit(lower, term, suggestions[term]))
        return _same_casing(word, best)

    def _closest(self, word: str, distance: int) -> dict[str, int]:
        """The terms of both dictionaries nearest to `word` (within `distance`), with their
        counts: what one dictionary holding both would suggest (a store word that is English
        too counts both ways)."""
        found = [
            suggestion
            for dictionary in (self._english, self._store)
            for suggestion in dictionary.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        ]
        if not found:
            return {}
        nearest = min(s.distance for s in found)
        counts: dict[str, int] = {}
        for s in found:
            if s.distance == nearest:
                counts[s.term] = counts.get(s.term, 0) + s.count
        return counts

    def _fit(self, word: str, candidate: str, count: int) -> float:
        """How well `candidate` fits where `word` stands: its frequency and its neighbours."""
        words = self._context
        position = words.index(word) if word in words else -1
        before = words[position - 1] if position > 0 else None
        after = words[position + 1] if 0 <= position < len(words) - 1 else None
        pairs = self._english.bigrams
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
