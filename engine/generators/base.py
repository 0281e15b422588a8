"""The `Generator` interface: intent, slots, findings and history in; an `Answer` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engine.lookup import Findings
from engine.types import Answer, IntentResult, Slots


@dataclass(frozen=True)
class Context:
    text: str
    intent: IntentResult
    slots: Slots
    findings: Findings
    customer_known: bool = False  # the channel vouches for the customer's email


class Generator(Protocol):
    def answer(self, context: Context) -> Answer: ...
