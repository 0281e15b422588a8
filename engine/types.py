"""The values that flow through the engine: one `Inbound` in, one `Turn` out.

A turn ends in a decision, `Reply` or `Handoff(reason)`: a value, not a side effect; the caller
(a channel, the CLI) does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from engine.models import Message

SourceKind = Literal["order", "faq", "product", "guide"]


@dataclass(frozen=True)
class Inbound:
    """One customer message, as every channel hands it to the engine."""

    conversation_key: str  # explicit per channel: widget session id, Slack team:channel:thread
    text: str
    channel: str = "cli"
    # Who wrote it, as the channel has verified (a signed shop login, Slack's user profile):
    # never an address someone merely typed. It is this message's author's, not the
    # conversation's: in a shared Slack thread every message may come from someone else.
    customer_email: str | None = None
    customer_name: str | None = None
    client_message_id: str | None = None
    # The author within a conversation several people write in (a Slack user id in a channel
    # thread); None where a conversation is one person's (a widget session, a DM).
    sender: str | None = None
    # The client's network address (after trusted proxies), for limits that hold per address.
    client_address: str | None = None


@dataclass(frozen=True)
class IntentScore:
    intent: str
    score: float


@dataclass(frozen=True)
class IntentResult:
    """Scored candidates, best first, and what the named thresholds made of them."""

    intent: str  # the accepted label, "out_of_scope", or "unsure"
    confidence: float
    candidates: tuple[IntentScore, ...]

    @property
    def unsure(self) -> bool:
        return self.intent == "unsure"


@dataclass(frozen=True)
class Correction:
    original: str
    corrected: str
    changes: tuple[tuple[str, str], ...] = ()


@dataclass
class Slots:
    """What the customer's words pin down, this turn or carried from earlier ones."""

    order_id: str | None = None
    malformed_order_id: str | None = None
    email: str | None = None
    product_skus: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)  # names of slots taken from earlier turns

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "malformed_order_id": self.malformed_order_id,
            "email": self.email,
            "product_skus": list(self.product_skus),
            "carried": list(self.carried),
        }


@dataclass(frozen=True)
class Source:
    """A record an answer was built from."""

    kind: SourceKind
    id: str
    title: str
    score: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "title": self.title, "score": self.score}


class HandoffReason(StrEnum):
    CUSTOMER_ASKED = "customer_asked"
    LOW_CONFIDENCE = "low_confidence"
    NO_GROUNDED_ANSWER = "no_grounded_answer"
    REPEATED_FAILURE = "repeated_failure"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    POLICY = "policy"
    COMPLAINT = "complaint"  # something went wrong with an order: a person puts it right


# Handoff reasons that say the bot had no answer (`customer_asked` counts when the bot failed).
UNANSWERED = frozenset(
    {
        HandoffReason.LOW_CONFIDENCE.value,
        HandoffReason.NO_GROUNDED_ANSWER.value,
        HandoffReason.REPEATED_FAILURE.value,
    }
)


@dataclass(frozen=True)
class Answer:
    """What a generator drafted: text, the records it used, and whether it answers at all."""

    text: str
    sources: tuple[Source, ...] = ()
    quick_replies: tuple[str, ...] = ()
    grounded: bool = True  # False: no record answers this; the text only says so
    failed: bool = False  # the turn did not help the customer (unsure, out of scope...)


@dataclass(frozen=True)
class Reply:
    text: str
    sources: tuple[Source, ...] = ()
    quick_replies: tuple[str, ...] = ()
    kind: Literal["reply"] = "reply"


@dataclass(frozen=True)
class Handoff:
    reason: HandoffReason
    text: str  # what the customer is told
    draft: Answer | None = None  # the bot's best attempt, for the agent
    kind: Literal["handoff"] = "handoff"


@dataclass(frozen=True)
class Forwarded:
    """A person (the queue or an agent) owns the conversation: the bot does not answer.

    The message is stored and understood as always; `draft` is what the bot would have said,
    for the agent to send, edit or ignore."""

    owner: str  # queue | agent:<id>
    draft: Answer | None = None
    text: str = ""
    kind: Literal["forwarded"] = "forwarded"


Decision = Reply | Handoff | Forwarded


@dataclass(frozen=True)
class Turn:
    """Everything the engine understood and decided about one message."""

    inbound: Inbound
    correction: Correction
    intent: IntentResult
    slots: Slots
    decision: Decision
    rejected: str | None = None  # why the text itself was refused (empty, too long...)
    conversation_id: int | None = None
    documents: tuple[dict[str, str], ...] = ()  # the records found, as a model is given them
    failed: bool = False  # the bot's answer did not help (not sure, out of scope...)
    # A message holding several requests: one turn per request (engine/requests.py), this
    # turn answering them all.
    requests: tuple[Turn, ...] = ()
    # What the turn stored, once it is (the customer's message and the bot's reply, with
    # their seqs and ids): a channel shows them without reading them back. Empty when the
    # turn was not stored here (answered before) or the reply was rewritten after.
    stored: tuple[Message, ...] = ()

    @property
    def from_records(self) -> bool:
        """The turn found records to answer from (not only the bot's own wording)."""
        return any(d.get("id") != "draft" for d in self.documents)

    @property
    def private(self) -> bool:
        """The turn shows someone's order records (an order, their list of orders): a channel
        several people read must deliver the reply to its author (`inbound.sender`) alone."""
        return any(str(d.get("id", "")).startswith("order:") for d in self.documents)

    @property
    def draft(self) -> Answer | None:
        """The bot's own answer when it is not what the customer gets (handoff, forwarded)."""
        return None if isinstance(self.decision, Reply) else self.decision.draft

    def as_dict(self) -> dict[str, Any]:
        decision = self.decision
        draft = self.draft
        sources = draft.sources if draft else ()
        if isinstance(decision, Reply):
            sources = decision.sources
        return {
            "text": self.inbound.text,
            "corrected_text": self.correction.corrected,
            "intent": self.intent.intent,
            "intent_confidence": round(self.intent.confidence, 4),
            "candidates": [
                {"intent": c.intent, "score": round(c.score, 4)} for c in self.intent.candidates
            ],
            "slots": self.slots.as_dict(),
            "sources": [s.as_dict() for s in sources],
            "answer": decision.text,
            "quick_replies": list(decision.quick_replies) if isinstance(decision, Reply) else [],
            "handoff": {
                "needed": isinstance(decision, Handoff),
                "reason": decision.reason.value if isinstance(decision, Handoff) else None,
            },
            "forwarded_to": decision.owner if isinstance(decision, Forwarded) else None,
            "rejected": self.rejected,
            "requests": [
                {"text": t.correction.corrected, "intent": t.intent.intent} for t in self.requests
            ],
        }
