"""The bot's draft for the agent: its answer to the customer's actual problem, or nothing.

At a handoff (and for every message while a person owns the conversation) the agent sees what
the bot would have said. A draft is worth showing only when it answers something: the turn's own
answer when it helped; for "I'd like to talk to a person, my parcel never came" the answer to the
parcel; at a handoff with nothing of its own ("let me talk to a person", a second "I don't
understand"), the conversation's last helpful answer (the order, the product, the FAQ entry the
customer was asking about). Never a stock line: not "I can only help with...", not "Hello! I
can help...", not the contact FAQ for someone who asked for a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.types import Answer, IntentResult, Source

# Not a problem to draft an answer to ("talk to a person" is the handoff itself).
NO_PROBLEM = frozenset(
    {
        "unsure",
        "out_of_scope",
        "smalltalk",
        "none",
        "contact_human_agent",
        "contact_customer_service",
    }
)
PROBLEM_WORDS = 3  # words besides the ask for a person that can state a problem


def helps(answer: Answer | None) -> bool:
    return answer is not None and bool(answer.text) and answer.grounded and not answer.failed


def own_draft(intent: IntentResult, answer: Answer) -> Answer | None:
    """The turn's own answer, when it answers a problem."""
    return answer if intent.intent not in NO_PROBLEM and helps(answer) else None


def problem_intent(intent: IntentResult, rest: str) -> IntentResult | None:
    """What else a message asking for a person is about ("... my parcel never came"): its
    likeliest other intent, when the words besides the ask can say something."""
    if len(re.findall(r"\w+", rest)) < PROBLEM_WORDS:
        return None
    best = next((c for c in intent.candidates if c.intent not in NO_PROBLEM), None)
    return IntentResult(best.intent, best.score, intent.candidates) if best else None


def remembered(answer: Answer) -> dict[str, Any]:
    """An answer as the conversation's memory keeps it (JSON)."""
    return {"text": answer.text, "sources": [s.as_dict() for s in answer.sources]}


def last_answer(memory: Mapping[str, Any]) -> Answer | None:
    """The conversation's last helpful answer, from its memory."""
    kept = memory.get("last_answer")
    if not isinstance(kept, dict) or not kept.get("text"):
        return None
    sources = tuple(
        Source(s["kind"], str(s["id"]), str(s["title"]), float(s.get("score", 1.0)))
        for s in kept.get("sources", [])
        if isinstance(s, dict) and {"kind", "id", "title"} <= s.keys()
    )
    return Answer(str(kept["text"]), sources)
