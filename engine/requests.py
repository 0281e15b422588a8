"""Several requests in one message: "where is HP-105442 and can I pay with klarna?".

A message is split where it clearly starts another request, and each request is understood and
answered on its own; the customer gets one reply that answers them all.

    "where is HP-105442 and can I pay with klarna?"  ->  "where is HP-105442"
                                                         "can I pay with klarna?"
    "thanks! one more: can I pay with Klarna?"       ->  "can I pay with Klarna?"

The marks of a new request: a question mark with more words after it; "and" before a question
word ("... and can I ..."); "and also", or "also" after a comma or full stop; "btw", "by the
way", "oh and", "one more:" / "one more thing". Greetings and thanks between requests are
dropped ("thanks!"), a piece too short to ask anything ("HP-105442 pls") stays with the
request before it, and a request that points back ("and how much does that cost") is read
together with the one before it. Anything else stays one request: a full stop does not split
("I bought a kettle. Does it work on induction?" needs its first sentence), nor does a plain
"and" ("I want to return it and get a refund").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.types import (
    Answer,
    Correction,
    Decision,
    Forwarded,
    Handoff,
    Reply,
    Slots,
    Source,
    Turn,
)

# What starts a question after "and": a question word, or a verb asking about someone or
# something ("and can I", "and is it"), never a verb going on with a statement ("and is broken").
_ASKS = (
    r"(?:(?:how|what|what's|whats|where|where's|wheres|when|which|why|who)\b"
    r"|(?:can|could|do|does|is|are|will|would|should|may)\s+"
    r"(?:i|you|u|we|it|they|this|that|these|those|the|my|your|there|a|an)\b)"
)
_BREAK = re.compile(
    r"(?<=\?)(?=\s*\w)"  # "where is my order? paypal ok?"
    rf"|[,;]?\s+and\s+(?:also\s+)?(?={_ASKS})"  # "... and can I pay with klarna"
    r"|[,;.!?]?\s*\band\s+also\b[,:]?"  # "... and also, ..."
    r"|[,;.!?]\s*also\b[,:]?"  # "where is my order. also, ..."
    r"|[,;.!?]?\s*\b(?:by\s+the\s+way|oh\s+and|one\s+more\s+(?:thing|question))\b[,:]?"
    # "btw" asks something next ("btw do you..."); the Dutch "btw" is VAT ("is btw included").
    rf"|[,;.!?]?\s*\bbtw\b(?:\s*[,:]|\s+(?={_ASKS}))"
    r"|[,;.!?]?\s*\bone\s+more\s*[:\-\u2013]",  # "one more: ..." (not "I need one more tent")
    re.IGNORECASE,
)
_JOINING = re.compile(r"^[\s,;:-]*(?:and|also|plus|so)\b|\b(?:and|also|plus)[\s,;:-]*$", re.I)
_REFERS = re.compile(r"\b(?:it|its|it's|that|this|those|them|they)\b", re.I)
_ORDER_OR_EMAIL = re.compile(r"\d{5,}|@")
_DATA = re.compile(r"\d|@")  # an order number, an email
_WORD = re.compile(r"[\w'@.-]+")
# Words of a greeting or thanks that asks nothing ("thanks!", "hi there", "ok great, thank you").
_PLEASANTRIES = frozenset(
    re.findall(
        r"\S+",
        "hi hello hey hiya there thanks thank you so much very thx ty cheers great perfect "
        "awesome ok okay cool nice lovely good morning afternoon evening again a lot super "
        "brilliant that's thats helpful helps fine alright",
    )
)
# Words that do not make a request of their own: "HP-105442 pls", "order HP-105442", "my email
# is ann@example.com" give what the request before them needs.
_FILLER = frozenset(
    re.findall(
        r"\S+",
        "please pls plz thanks thx and also too order number no nr id my is it's its the email",
    )
)
MIN_WORDS = 2  # a piece of fewer words is no request of its own ("and how")


def split_requests(text: str) -> list[str]:
    """The requests in a message, in order; one element when it holds one request."""
    pieces = [_JOINING.sub("", p).strip(" ,;:-") for p in _BREAK.split(text)]
    pieces = [p for p in pieces if _words(p)]
    if len(pieces) < 2:  # nothing to split: the message exactly as it came
        return [text]
    asking = [p for p in pieces if not _pleasantry(p)]
    if not asking:
        return [text]
    requests: list[str] = []
    for piece in asking:
        # Too short to ask anything alone ("HP-105442 pls"), or a question with no topic of its
        # own ("can u send to oslo and whats the fee"): part of the request before it.
        if requests and (not _substantive(piece) or _elliptic(piece)):
            requests[-1] = f"{requests[-1]} {piece}"
        else:
            requests.append(piece)
    if len(requests) > 1 and not _substantive(requests[0]):
        requests[1] = f"{requests[0]} {requests[1]}"
        del requests[0]
    if len(requests) == 1 and any(_elliptic(p) for p in asking[1:]):
        return [text]  # one request after all: the message exactly as it came
    # "... sent to Toronto and how much does that cost": "that" is the request before it (an
    # order number before it is not repeated: the conversation's memory carries it).
    return [
        f"{requests[n - 1]} {r}" if n and _points_back(requests[n - 1], r) else r
        for n, r in enumerate(requests)
    ]


def _elliptic(piece: str) -> bool:
    """A question of a few words whose topic is the request before it: "whats the fee", "how
    long", "when"."""
    words = _words(piece)
    return (
        len(words) <= ELLIPTIC_WORDS
        and _QUESTION_WORD.match(piece.strip()) is not None
        and not _REFERS.search(piece)
    )


ELLIPTIC_WORDS = 3
_QUESTION_WORD = re.compile(r"(?:how|what|what's|whats|when|which|where)\b", re.I)


def _points_back(before: str, request: str) -> bool:
    return bool(_REFERS.search(request)) and not _ORDER_OR_EMAIL.search(before)


def _words(text: str) -> list[str]:
    return [w.lower().strip(".") for w in _WORD.findall(text)]


def _pleasantry(piece: str) -> bool:
    return all(w in _PLEASANTRIES for w in _words(piece))


def _substantive(piece: str) -> bool:
    words = _words(piece)
    said = [w for w in words if w not in _FILLER and not _DATA.search(w)]
    return len(words) >= MIN_WORDS and bool(said)


def combined(parts: Sequence[Turn]) -> Turn:
    """One turn answering every request of a message: the answers of the requests that were
    understood (all of them when none was), each said once, with all their sources."""
    useful = [t for t in parts if not t.failed] or list(parts[:1])
    distinct: list[Turn] = []
    for turn in useful:
        if all(turn.decision.text != t.decision.text for t in distinct):
            distinct.append(turn)
    lead, inbound = distinct[0], parts[0].inbound
    correction = Correction(
        inbound.text,
        " ".join(t.correction.corrected for t in parts),
        tuple(c for t in parts for c in t.correction.changes),
    )
    documents = {str(d.get("id")): d for t in distinct for d in t.documents}
    return Turn(
        inbound,
        correction,
        lead.intent,
        _slots(parts),
        _decision(distinct),
        documents=tuple(documents.values()),
        failed=not any(not t.failed for t in parts),
        requests=tuple(parts),
    )


def _decision(turns: Sequence[Turn]) -> Decision:
    decisions = [t.decision for t in turns]
    answers = [_answer(d) for d in decisions]
    drafts = [a for a in answers if a is not None]
    draft = _joined(drafts) if drafts else None
    forwarded = next((d for d in decisions if isinstance(d, Forwarded)), None)
    if forwarded is not None:  # a person owns the conversation: the bot answers none of them
        return Forwarded(forwarded.owner, draft, forwarded.text)
    handoff = next((d for d in decisions if isinstance(d, Handoff)), None)
    replies = [d for d in decisions if isinstance(d, Reply)]
    if handoff is not None:  # what the bot could answer, then the handoff
        text = "\n\n".join([*(r.text for r in replies), handoff.text])
        return Handoff(handoff.reason, text, draft)
    quick = next((r.quick_replies for r in reversed(replies) if r.quick_replies), ())
    sources = _joined([Answer(r.text, r.sources) for r in replies]).sources
    return Reply("\n\n".join(r.text for r in replies), sources, quick)


def _answer(decision: Decision) -> Answer | None:
    if isinstance(decision, Reply):
        return Answer(decision.text, decision.sources)
    return decision.draft


def _joined(answers: Sequence[Answer]) -> Answer:
    sources: dict[tuple[str, str], Source] = {}
    for answer in answers:
        for source in answer.sources:
            sources.setdefault((source.kind, source.id), source)
    texts = list(dict.fromkeys(a.text for a in answers if a.text))
    return Answer("\n\n".join(texts), tuple(sources.values()))


def _slots(parts: Sequence[Turn]) -> Slots:
    slots = Slots()
    for turn in parts:
        given = turn.slots
        slots.order_id = slots.order_id or given.order_id
        slots.malformed_order_id = slots.malformed_order_id or given.malformed_order_id
        slots.email = slots.email or given.email
        slots.product_skus = list(dict.fromkeys([*slots.product_skus, *given.product_skus]))
        slots.carried = list(dict.fromkeys([*slots.carried, *given.carried]))
    return slots
