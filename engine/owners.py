"""Who answers a conversation: the bot, the queue (waiting for a person) or one agent.

`Conversation.owner` stores it as text, "bot", "queue" or "agent:<id>" (handoff/ownership.py
moves it with conditional updates that compare that text); `Owner` is the one place that text
is parsed and formatted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

BOT, QUEUE = "bot", "queue"  # the stored text of the two owners that are not a person
_AGENT: Final = "agent"

OwnerKind = Literal["bot", "queue", "agent"]


@dataclass(frozen=True)
class Owner:
    """A conversation's owner; `agent_id` is set exactly when `kind` is "agent"."""

    kind: OwnerKind
    agent_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> Owner:
        """The owner a stored text names; ValueError for text that names none."""
        if text == BOT:
            return cls("bot")
        if text == QUEUE:
            return cls("queue")
        kind, _, number = text.partition(":")
        if kind == _AGENT and number.isdigit():
            return cls(_AGENT, int(number))
        raise ValueError(f"not a conversation owner: {text!r}")

    @classmethod
    def agent(cls, agent_id: int) -> Owner:
        return cls(_AGENT, agent_id)

    @property
    def is_agent(self) -> bool:
        return self.kind == _AGENT

    def __str__(self) -> str:
        """The text stored in `Conversation.owner`."""
        return f"{_AGENT}:{self.agent_id}" if self.kind == _AGENT else self.kind


def agent_owner(agent_id: int) -> str:
    """The stored text for this agent as owner (or as the actor of a change)."""
    return str(Owner.agent(agent_id))


AGENT_OWNERS = f"{_AGENT}:%"  # a LIKE pattern matching every agent's owner text
