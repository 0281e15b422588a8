"""The `grounded` generator: replies composed from the records themselves.

Every figure in a reply (price, stock, date, status, carrier, tracking number, invoice number)
is copied from an order, product or FAQ record, and every record used is listed as a source.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from engine.generators import phrases
from engine.generators.base import Context
from engine.generators.product_answers import product_answer
from engine.lookup import FAQ_GENERAL_SCORE, Findings, Scored
from engine.slots import ORDER_INTENTS
from engine.types import Answer, Source
from kb.models import FaqEntry, Order

_GREETING = re.compile(r"\b(hi|hello|hey|hiya|good (morning|afternoon|evening))\b", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|thx|cheers|great|perfect|awesome)\b", re.I)
_BYE = re.compile(r"\b(bye|goodbye|see you|see ya|that'?s all|have a nice)\b", re.I)

STATUS_SENTENCES = {
    "pending": "is placed and waiting for the payment to be confirmed",
    "paid": "is paid and being prepared for dispatch",
    "shipped": "has been shipped",
    "out_for_delivery": "is out for delivery",
    "delivered": "has been delivered",
    "cancelled": "was cancelled",
    "return_requested": "has a return request open: we are waiting for the parcel to come back",
    "returned": "has come back to our warehouse as a return",
    "refunded": "has been refunded",
}


class GroundedGenerator:
    """Composes answers from records; offline, deterministic, the default.

    Dates are told in the store's time zone (a late-evening order in Utrecht was placed that
    day, not the next one in UTC).
    """

    def __init__(self, timezone: tzinfo = UTC) -> None:
        self.timezone = timezone

    def answer(self, context: Context) -> Answer:
        intent = context.intent.intent
        if intent == "unsure":
            return _clarify(context)
        if intent == "out_of_scope":
            return Answer(phrases.OUT_OF_SCOPE, failed=True)
        if intent == "smalltalk":
            return _smalltalk(context.text)
        if intent == "product_info":
            if context.findings.faq and not context.findings.products:
                return _from_records(intent, context.findings, self.timezone)
            return product_answer(context.text, context.findings.products)
        if intent in ORDER_INTENTS and context.findings.order_access != "shown":
            needs_order = _order_needed(context)
            if needs_order is not None:
                return needs_order
        return _from_records(intent, context.findings, self.timezone)


def _clarify(context: Context) -> Answer:
    """Ask back, naming the likeliest answers: the FAQ entries that nearly matched first, then
    what the likeliest intents would do; each is a quick reply that, sent, is understood."""
    questions = [s.record.question for s in context.findings.suggestions]
    prompts = [
        phrases.INTENT_PROMPTS[c.intent]
        for c in context.intent.candidates
        if c.intent in phrases.INTENT_PROMPTS
    ]
    likeliest = list(dict.fromkeys([*questions, *prompts]))[:CLARIFY_CHOICES]
    text = "\n".join([phrases.UNSURE, *(f"- {choice}" for choice in likeliest)])
    return Answer(text, quick_replies=(*likeliest, "Talk to a person"), failed=True)


CLARIFY_CHOICES = 3


def is_goodbye(text: str) -> bool:
    """The customer is leaving ("bye", "that's all"): the chat's episode ends here."""
    return _BYE.search(text) is not None


def _smalltalk(text: str) -> Answer:
    if _BYE.search(text):
        return Answer(phrases.GOODBYE)
    if _THANKS.search(text):
        return Answer(phrases.THANKS)
    if re.search(r"\b(bot|robot|human|real person|machine|ai)\b", text, re.I):
        return Answer(phrases.ABOUT_ME)
    return Answer(phrases.GREETING)


def _order_needed(context: Context) -> Answer | None:
    """The reply when the order cannot be shown yet; None when the turn can go on without it."""
    findings, slots = context.findings, context.slots
    access = findings.order_access
    if access == "malformed":
        return Answer(phrases.MALFORMED_ORDER_ID.format(raw=slots.malformed_order_id))
    if access == "locked":
        return Answer(phrases.PROOF_LOCKED, quick_replies=("Talk to a person",), failed=True)
    if access == "needs_email":
        return Answer(phrases.ASK_EMAIL.format(order_id=slots.order_id))
    if access == "not_found":
        whose = "your account" if context.customer_known else "that email address"
        return Answer(phrases.ORDER_NOT_FOUND.format(order_id=slots.order_id, whose=whose))
    # No order id given.
    if len(findings.recent_orders) == 1:
        findings.order, findings.order_access = findings.recent_orders[0], "shown"
        return None
    if findings.recent_orders:
        choices = tuple(f"Order {o.order_id}" for o in findings.recent_orders[:4])
        return Answer(phrases.WHICH_ORDER, quick_replies=choices)
    if findings.faq and context.intent.intent not in ("track_order", "track_refund"):
        return None  # a general question ("can I cancel an order?"): the FAQ answers it
    if findings.faq and findings.faq[0].score >= FAQ_GENERAL_SCORE:
        return None  # "what does the status 'paid' mean?": about orders, not one order
    if findings.faq and _ASKS_HOW_TO.search(context.text):
        return None  # "how can I track my parcel?": the FAQ says how it is done
    if findings.faq and not _PERSONAL.search(context.text):
        return None  # "bancontact refund how long does it take": nobody's own order
    if slots.email:  # an email alone: the same reply whether it is a customer's or not
        return Answer(phrases.ASK_ORDER_ID_WITH_EMAIL)
    return Answer(phrases.ASK_ORDER_ID)


# A question about how something is done, not a request to do it for this customer's order.
_ASKS_HOW_TO = re.compile(
    r"\bhow (can|do|does|could|would|should) (i|we|you|one)\b(?! (long|much|many|soon|fast))"
    r"|\b(is|are) there (a|any) (way|link|option)s?\b|\bhow to\b"
    r"|\bcan (i|we) (see|check|follow|track)\b",
    re.IGNORECASE,
)


# Words that make a question about one's own order ("where is my refund?", "when will it
# arrive", "where's the parcel").
_PERSONAL = re.compile(
    r"\b(my|mine|me|i|i'm|im|i've|ive|our|we|us)\b"
    r"|\b(where|when)\b.*\b(it|the (order|parcel|package|refund|money|delivery))\b",
    re.IGNORECASE,
)


def _from_records(intent: str, findings: Findings, timezone: tzinfo) -> Answer:
    parts: list[str] = []
    sources: list[Source] = []
    if findings.order is not None and findings.order_access == "shown":
        parts.append(order_summary(findings.order, intent, timezone))
        sources.append(Source("order", findings.order.order_id, f"Order {findings.order.order_id}"))
    if findings.faq:
        best = findings.faq[0]
        parts.append(best.record.answer)
        sources.append(_faq_source(best))
    elif intent in phrases.GUIDES and not parts:
        parts.append(phrases.GUIDES[intent])
        sources.append(Source("guide", intent, phrases.INTENT_PROMPTS.get(intent, intent)))
    if not parts:
        return Answer("", grounded=False, failed=True)
    return Answer(" ".join(parts), tuple(sources))


def _faq_source(scored: Scored[FaqEntry]) -> Source:
    return Source("faq", scored.record.key, scored.record.question, round(scored.score, 4))


def order_summary(order: Order, intent: str, timezone: tzinfo = UTC) -> str:
    """One order's facts, as the order record states them."""

    def _day(value: datetime | str | None) -> str:
        return day(value, timezone)

    sentences = [
        f"Order {order.order_id}, placed on {_day(order.placed_at)} "
        f"({order.money(order.total_cents)}), {STATUS_SENTENCES.get(order.status, order.status)}."
    ]
    if order.status in ("shipped", "out_for_delivery", "delivered") and order.carrier:
        when = f" on {_day(order.shipped_at)}" if order.shipped_at else ""
        sentences.append(
            f"It was sent{when} with {order.carrier}, tracking number {order.tracking_number}."
        )
    if order.status == "delivered" and order.delivered_at:
        sentences.append(f"It was delivered on {_day(order.delivered_at)}.")
    if order.status in ("paid", "shipped", "out_for_delivery") and order.estimated_delivery:
        sentences.append(f"Estimated delivery: {_day(order.estimated_delivery)}.")
    if order.status == "cancelled" and order.cancelled_at:
        sentences.append(f"It was cancelled on {_day(order.cancelled_at)}.")
    if order.status == "refunded" and order.refunded_at:
        sentences.append(f"The refund was issued on {_day(order.refunded_at)}.")
    if intent in ("get_invoice", "check_invoice"):
        if order.invoice_number:
            sentences.append(f"Its invoice number is {order.invoice_number}.")
        else:
            sentences.append("It has no invoice yet: the invoice is issued once it is paid.")
    if intent in ("change_order", "complaint", "get_refund", "cancel_order"):
        items = ", ".join(f"{i['quantity']} x {i['name']}" for i in order.items)
        sentences.append(f"Items: {items}.")
    return " ".join(sentences)


def day(value: datetime | str | None, timezone: tzinfo = UTC) -> str:
    """ "18 November 2026", in the store's time zone."""
    if value is None:
        return "an unknown date"
    if isinstance(value, str):  # estimated delivery: a calendar date already
        value = datetime.fromisoformat(value)
    elif value.tzinfo is not None:
        value = value.astimezone(timezone)
    return f"{value.day} {value:%B %Y}"
