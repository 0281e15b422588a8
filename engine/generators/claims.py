"""Claims that something was done: the shop's completed actions ("I have cancelled your order",
"your refund is made", "we have shipped a replacement") and an order's state ("your order has
been delivered").

The bot performs no actions, so such a claim is true only where an order record says it: its
status and the moments it lists (shipped, delivered, cancelled, refunded...). A claim naming an
order must hold for that order's record, not another in the sources. Future and conditional
wording ("you can request a refund", "an agent will cancel it", "once it is refunded", "the
invoice is emailed as soon as the order is paid") claims nothing; neither does a negation ("it
has not shipped yet") nor a definition ('"Refunded" means we have sent the money back').

English only: the patterns are English phrasings. A reply in another language is checked by its
other facts (prices, dates, ids, codes, links).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from engine.slots import ORDER_ID

# participle -> what was done; "done" takes its meaning from its object ("refund is made").
VERBS = {
    "cancelled": "cancelled", "canceled": "cancelled", "refunded": "refunded",
    "reimbursed": "refunded", "credited": "refunded", "repaid": "refunded",
    "shipped": "shipped", "dispatched": "shipped", "sent": "sent", "resent": "sent",
    "re-sent": "sent", "emailed": "sent", "mailed": "sent", "delivered": "delivered",
    "returned": "returned", "paid": "paid", "changed": "changed", "updated": "changed",
    "modified": "changed", "corrected": "changed", "edited": "changed", "amended": "changed",
    "adjusted": "changed", "upgraded": "changed", "replaced": "replacement",
    "issued": "done", "processed": "done", "made": "done", "completed": "done",
    "approved": "done", "initiated": "done", "arranged": "done", "scheduled": "done",
    "booked": "done", "applied": "done", "waived": "done", "transferred": "done",
    "released": "done", "granted": "done",
}  # fmt: skip
# state phrases after "is/has been": what they say about an order
STATES = {"on its way": "in transit", "in transit": "in transit",
          "out for delivery": "out for delivery"}  # fmt: skip
# what the object or subject makes of the action ("your address has been updated": changed)
NOUNS = {
    "refund": "refunded", "money": "refunded", "reimbursement": "refunded",
    "payment": "paid", "invoice": "invoice", "receipt": "invoice", "address": "changed",
    "replacement": "replacement", "exchange": "replacement", "voucher": "compensation",
    "coupon": "compensation", "discount": "compensation", "credit": "compensation",
    "compensation": "compensation", "label": "label", "return": "returned",
}  # fmt: skip
ORDER_NOUNS = ("order", "orders", "parcel", "package", "shipment", "item", "items", "it", "they")
NEW = ("new", "another", "second", "fresh", "replacement")
# what an order record in a given state makes true
RECORD = {
    "shipped": {"shipped", "sent", "in transit"},
    "out for delivery": {"shipped", "sent", "in transit", "out for delivery"},
    "delivered": {"shipped", "sent", "delivered"},
    "cancelled": {"cancelled"}, "refunded": {"refunded", "returned"},
    "returned": {"returned"}, "paid": {"paid"},
}  # fmt: skip

_VERB = "|".join(sorted(map(re.escape, [*VERBS, *STATES]), key=len, reverse=True))
_NOUN = "|".join(sorted([*NOUNS, *ORDER_NOUNS], key=len, reverse=True))
_ADVERBS = r"(?:(?:now|just|already|also|successfully|fully|finally|since|been)\s+)*"
_PASSIVE = re.compile(
    rf"\b(?P<noun>{_NOUN}|hp[\s-]?\d{{6}})\b[\w\s-]{{0,3}}?\s+"
    rf"(?:(?:has|have|had)\s+{_ADVERBS}been|is|are|was|were|got|gets|'s\s+been|’s\s+been)\s+"
    rf"{_ADVERBS}(?P<verb>{_VERB})\b(?P<after>[^.!?;,]*)",
    re.I,
)
_FIRST_PERSON = re.compile(
    rf"\b(?:i|we)(?:\s*(?:'ve|’ve|have|had|'d|just|already|now|also|successfully|"
    rf"gone\s+ahead\s+and|went\s+ahead\s+and)\b)*\s+(?P<verb>{_VERB})\b(?P<after>[^.!?;]*)",
    re.I,
)
_CONDITION = re.compile(
    r"\b(if|once|when|whenever|after|until|unless|as soon as|before|whether|in case|"
    r"by the time|means|meaning)\b",
    re.I,
)
_TRAILING_CONDITION = re.compile(
    r"\b(once|when|whenever|if|within|as soon as|until|unless)\b", re.I
)
_CLAUSE = re.compile(r"[,;:(]|\band\b|\bbut\b|\bso\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n")
_MOMENT = re.compile(r"^(status|shipped|delivered|cancelled|refunded|paid):\s*(.+)$", re.M)


@dataclass(frozen=True)
class Claim:
    """One claim: what was done or is the case (`kind`), and the order it names, if any."""

    kind: str
    order: str | None = None

    def __str__(self) -> str:
        return f"claim {self.kind}" + (f" ({self.order})" if self.order else "")


def claims(text: str) -> set[Claim]:
    """The completed actions and order states `text` asserts, sentence by sentence."""
    found: set[Claim] = set()
    for sentence in _SENTENCE.split(text):
        orders: list[str | None] = [f"HP-{m.group(1)}" for m in ORDER_ID.finditer(sentence)]
        for kind in _kinds(sentence):
            found |= {Claim(kind, order) for order in orders or [None]}
    return found


def _kinds(sentence: str) -> Iterator[str]:
    for pattern in (_PASSIVE, _FIRST_PERSON):
        for m in pattern.finditer(sentence):
            if _conditional(sentence[: m.start()]) or _TRAILING_CONDITION.search(m["after"]):
                continue
            before = sentence[: m.start("verb")].lower()
            kind = _kind(m["verb"].lower(), before, m["after"].lower())
            if not (kind == "done" and m["verb"].lower() == "made"):  # "it is made of wool"
                yield kind


def _conditional(before: str) -> bool:
    """Whether the clause the claim sits in starts with "if", "once", "when"..."""
    clause = _CLAUSE.split(before)[-1]
    return _CONDITION.search(clause) is not None


def _kind(verb: str, before: str, after: str) -> str:
    """What was done: the verb's meaning, unless its subject or object says more ("your refund
    is made": refunded; "we sent a new invoice": a replacement)."""
    kind = VERBS.get(verb) or STATES[verb]
    objects = re.findall(r"[\w-]+", after)[:5]
    if any(w in NEW for w in objects[:3]):
        return "replacement"
    nouns = [NOUNS[w] for w in re.findall(r"[\w-]+", before)[-6:] + objects if w in NOUNS]
    return nouns[0] if nouns else kind


def supported(sources: Iterable[str]) -> dict[str, set[str]]:
    """What each order record among `sources` makes true, by order id ("" holds them all)."""
    known: dict[str, set[str]] = {"": set()}
    for source in sources:
        ids = [f"HP-{m.group(1)}" for m in ORDER_ID.finditer(source)]
        if not source.startswith("order id:") or not ids:
            continue
        kinds = {"invoice"} if "invoice number:" in source else set()
        for field, value in _MOMENT.findall(source):
            state = value.strip().lower() if field == "status" else field
            kinds |= RECORD.get(state, set())
        known.setdefault(ids[0], set()).update(kinds)
        known[""] |= kinds
    return known


def unsupported(text: str, known: dict[str, set[str]]) -> list[str]:
    """The claims of `text` no order record backs."""
    return sorted(str(c) for c in claims(text) if c.kind not in known.get(c.order or "", set()))
