"""Checking a written answer against its sources: every price, date, order status, tracking
number and order id in the answer must appear in a source; every claim that something was done
("I have cancelled your order", "your refund is made") or that an order is in a state must hold
for an order record among them (engine/generators/claims.py); every link must go to a host the
sources name or the settings allow (engine/generators/links.py).

Deliberately strict: a fact written differently from the records ("dispatched" for
"shipped" is allowed; "delivered" for "shipped" is not) fails the check, and the customer gets
the grounded answer instead. Failing safe costs a less fluent reply; passing wrongly would cost a
wrong promise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from engine.generators import claims, links
from engine.slots import EMAIL, ORDER_ID

MONTHS = {m: n for n, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], 1)}  # fmt: skip
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"  # noqa: E501
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?!\d)(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+(\d{{4}}))?", re.I
)
_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\.?\s+(\d{{1,2}})(?!\d)(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?", re.I
)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")  # day/month/year, as in Europe
_MONEY = re.compile(
    r"(?:€|eur|usd|\$|£|gbp)\s?(\d{1,6}(?:[.,]\d{1,2})?)\b"
    r"|\b(\d{1,6}(?:[.,]\d{1,2})?)\s?(?:€|eur\b|euros?\b)"
    r"|\b(\d{1,6}[.,]\d{2})\b",
    re.I,
)
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d{4})[A-Z0-9]{8,30}\b")  # tracking numbers and the like
STATUSES = {
    "shipped": "shipped", "dispatched": "shipped", "delivered": "delivered",
    "out for delivery": "out for delivery", "cancelled": "cancelled", "canceled": "cancelled",
    "refunded": "refunded", "returned": "returned", "in transit": "shipped",
    "pending": "pending", "on its way": "shipped",
}  # fmt: skip
# Promises only a person may make: an answer may mention them only where a source does.
PROMISES = {"refund": "refund", "reimburs": "refund", "money back": "refund",
            "compensat": "compensation", "discount": "discount", "voucher": "voucher",
            "coupon": "voucher", "store credit": "credit", "free of charge": "free",
            "for free": "free", "waive": "free", "guarantee": "guarantee"}  # fmt: skip
_PROMISE = re.compile(r"\b(" + "|".join(map(re.escape, PROMISES)) + r")", re.I)
_STATUS = re.compile(r"\b(" + "|".join(sorted(STATUSES, key=len, reverse=True)) + r")\b", re.I)


@dataclass(frozen=True)
class Check:
    passed: bool
    unsupported: tuple[str, ...] = ()  # the answer's facts no source has


def facts(text: str) -> set[str]:
    """The checkable facts in `text`, normalised ("order HP-105442", "price 89.95", "date 3-12",
    "date 2026-3-12", "status shipped", "code 3SABC12345678", "email jo@example.com",
    "promise refund")."""
    found: set[str] = set()
    found |= {f"order HP-{m.group(1)}" for m in ORDER_ID.finditer(text)}
    for m in _MONEY.finditer(text):
        amount = next(g for g in m.groups() if g).replace(",", ".")
        found.add(f"price {float(amount):.2f}")
    for day, month, year in _dates(text):
        found.add(f"date {month}-{day}")
        if year:
            found.add(f"date {year}-{month}-{day}")
    found |= {f"status {STATUSES[m.group(1).lower()]}" for m in _STATUS.finditer(text)}
    found |= {f"email {m.group(0).lower()}" for m in EMAIL.finditer(text)}
    found |= {f"promise {PROMISES[m.group(1).lower()]}" for m in _PROMISE.finditer(text)}
    orders = {m.group(0).upper().replace(" ", "") for m in ORDER_ID.finditer(text)}
    for m in _CODE.finditer(text.upper()):
        if m.group(0) not in orders and not m.group(0).isdigit():
            found.add(f"code {m.group(0)}")
    return found


def _dates(text: str) -> Iterable[tuple[int, int, int | None]]:
    for m in _DAY_MONTH.finditer(text):
        yield int(m.group(1)), _month(m.group(2)), int(m.group(3)) if m.group(3) else None
    for m in _MONTH_DAY.finditer(text):
        yield int(m.group(2)), _month(m.group(1)), int(m.group(3)) if m.group(3) else None
    for m in _ISO.finditer(text):
        yield int(m.group(3)), int(m.group(2)), int(m.group(1))
    for m in _NUMERIC.finditer(text):
        yield int(m.group(1)), int(m.group(2)), int(m.group(3))


def _month(name: str) -> int:
    name = name.lower()
    return next(n for full, n in MONTHS.items() if full.startswith(name[:3]))


def check(
    answer: str,
    sources: Iterable[str],
    policies: Iterable[str] | None = None,
    link_hosts: Iterable[str] = (),
) -> Check:
    """Every fact of `answer` must be in a source; a promise (refund, discount, free...) in a
    policy (the FAQ, the grounded answer), not just anywhere: a product description imported
    from a supplier is no authority on refunds. Claims of actions and order states must hold
    for an order record; links must go to a source's host or one of `link_hosts`."""
    return Known.of(sources, policies, link_hosts).check(answer)


@dataclass(frozen=True)
class Known:
    """What the sources back, worked out once for all the sentences of a streamed answer."""

    facts: frozenset[str]
    records: dict[str, set[str]]  # order id -> claims its record backs (claims.supported)
    hosts: frozenset[str]

    @classmethod
    def of(
        cls,
        sources: Iterable[str],
        policies: Iterable[str] | None = None,
        link_hosts: Iterable[str] = (),
    ) -> Known:
        sources = list(sources)
        known: set[str] = set()
        for source in sources:
            known |= {f for f in facts(source) if not f.startswith("promise ")}
        for policy in sources if policies is None else policies:
            known |= {f for f in facts(policy) if f.startswith("promise ")}
        hosts = links.known_hosts(sources, link_hosts)
        records = claims.supported(sources)
        # A policy's own general wording ("for Klarna your invoice is adjusted") may be recited.
        for policy in sources if policies is None else policies:
            records[""] |= {c.kind for c in claims.claims(policy) if c.order is None}
        return cls(frozenset(known), records, hosts)

    def check(self, answer: str) -> Check:
        missing = sorted(facts(answer) - self.facts)
        missing += claims.unsupported(answer, self.records)
        missing += links.unsupported(answer, self.hosts)
        return Check(not missing, tuple(missing))


def leaks(answer: str, secret: str, words: int = 8) -> bool:
    """Whether `answer` repeats `words` words in a row of `secret` (the system prompt)."""
    said = re.findall(r"\w+", answer.lower())
    hidden = re.findall(r"\w+", secret.lower())
    runs = {tuple(hidden[i : i + words]) for i in range(len(hidden) - words + 1)}
    return any(tuple(said[i : i + words]) in runs for i in range(len(said) - words + 1))


def could_be_fact(word: str) -> bool:
    """Whether a word may start or be part of a fact (for holding it back while streaming)."""
    return (
        any(c.isdigit() for c in word)
        or word.lower().strip(".,!?;:") in _STATUS_WORDS
        or (word.strip().startswith(("€", "$", "£")))
        or links.could_be_link(word)
    )


_STATUS_WORDS = (
    {w for status in STATUSES for w in status.split()} | set(claims.VERBS) | set(claims.STATES)
) - {"for", "its", "on", "in"}
