"""The decision: `Reply` or `Handoff(reason)`, from what the turn understood and drafted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from engine.generators import phrases
from engine.lookup import FAQ_GENERAL_SCORE, Findings
from engine.types import Answer, Decision, Handoff, HandoffReason, IntentResult, Reply

NEGATIVE_FROM = -0.6  # VADER compound score at or below which the customer is upset
ALWAYS_HUMAN = frozenset({"contact_human_agent"})
POLICY_INTENTS = frozenset({"delete_account"})  # a person must do these
# Damaged, wrong or missing items, a parcel that never came, bad service: a person decides on a
# replacement, a refund or an apology; the bot's draft (the FAQ's rules, the order) helps them.
COMPLAINT = "complaint"
COMPLAINTS = frozenset({COMPLAINT})


# A message that asks something (rather than tells or demands).
IS_QUESTION = re.compile(
    r"\?\W*$|\bhow\W*$"
    r"|^\W*(how|where|what|when|why|which|can|could|may|do|does|did|is|are|will|would|should)\b",
    re.IGNORECASE,
)
# A customer fed up with the bot itself wants a person, whatever the words' sentiment score
# ("this bot is useless" is only mildly negative to VADER).
FED_UP_WITH_BOT = re.compile(
    r"\b(you|you're|youre|you are|this bot|the bot|this chat ?bot|this assistant|this thing)\b"
    r"[^.?!]{0,12}\b(useless|stupid|dumb|not helping|no help|not helpful|unhelpful|rubbish"
    r"|pointless|a joke)\b"
    r"|\bnot helping( me)? at all\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TurnFacts:
    """What the decision looks at besides the draft answer."""

    text: str
    intent: IntentResult
    findings: Findings
    failures_before: int  # failed turns in a row before this one
    unsure_before: bool  # the previous turn already asked the customer to clarify


def _answered_from_faq(facts: TurnFacts, answer: Answer) -> bool:
    """The FAQ answers the message: an upset customer asking a question the store answers
    ("where can i complain about bad service", "ordered by accident, how to cancel?") gets the
    answer, not a queue. A statement needs a strong match."""
    faq = facts.findings.faq
    if not faq or not answer.sources or answer.sources[0].kind != "faq":
        return False
    return faq[0].score >= FAQ_GENERAL_SCORE or IS_QUESTION.search(facts.text) is not None


class DecisionPolicy:
    def __init__(self, refund_limit_cents: int, repeated_failure_limit: int) -> None:
        if repeated_failure_limit < 1:
            raise ValueError("repeated_failure_limit must be at least 1")
        self.refund_limit_cents = refund_limit_cents
        self.repeated_failure_limit = repeated_failure_limit
        self._sentiment = SentimentIntensityAnalyzer()

    def sentiment(self, text: str) -> float:
        return float(self._sentiment.polarity_scores(text)["compound"])

    def decide(self, facts: TurnFacts, answer: Answer) -> Decision:
        reason = self._handoff_reason(facts, answer)
        if reason is not None:
            return Handoff(reason, phrases.HANDOFF[reason.value], draft=answer)
        return Reply(answer.text, answer.sources, answer.quick_replies)

    def _handoff_reason(self, facts: TurnFacts, answer: Answer) -> HandoffReason | None:
        intent = facts.intent.intent
        if intent in ALWAYS_HUMAN:
            return HandoffReason.CUSTOMER_ASKED
        if FED_UP_WITH_BOT.search(facts.text) or (
            intent not in ("smalltalk",)
            and self.sentiment(facts.text) <= NEGATIVE_FROM
            and not _answered_from_faq(facts, answer)
        ):
            return HandoffReason.NEGATIVE_SENTIMENT
        if intent in POLICY_INTENTS or self._refund_over_limit(facts):
            return HandoffReason.POLICY
        if intent in COMPLAINTS:
            return HandoffReason.COMPLAINT
        if facts.intent.unsure and facts.unsure_before:
            return HandoffReason.LOW_CONFIDENCE
        if answer.failed and facts.failures_before + 1 >= self.repeated_failure_limit:
            return HandoffReason.REPEATED_FAILURE
        if not answer.grounded and intent not in ("out_of_scope", "product_info"):
            return HandoffReason.NO_GROUNDED_ANSWER
        return None

    def _refund_over_limit(self, facts: TurnFacts) -> bool:
        order = facts.findings.order
        return (
            facts.intent.intent == "get_refund"
            and order is not None
            and order.total_cents > self.refund_limit_cents
        )
