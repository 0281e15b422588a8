"""How conversations end: the outcome of each stretch of a conversation (an episode) and the
customer's satisfaction with it.

A conversation can go on for weeks (a widget session, a Slack DM); an episode is the part of it
from the first message after the previous episode's end (`first_seq`) to its own end
(`last_seq`). An episode ends when:
- an agent resolves the handoff (resolved, unresolved, abandoned: `handed_off` episodes);
- the customer says goodbye or ends the chat;
- nobody wrote for `IDLE_MINUTES` (the customer went away).

Outcomes, as trainers select them:
- `bot_resolved`: the bot answered and nothing says it failed (no handoff, no thumbs down, the
  last answer was not a failure);
- `agent_resolved`: a person took over and resolved it;
- `abandoned`: the customer left unhelped (the bot's last answer failed, or they left the queue);
- `handed_off_unresolved`: a person took over and closed it unresolved.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.state import utcnow

OUTCOMES = ("bot_resolved", "agent_resolved", "abandoned", "handed_off_unresolved")
IDLE_MINUTES = 30
SCALE = (1, 2, 3, 4, 5)
QUESTION = "How did we do? Rate this chat from 1 (poor) to 5 (great)."


class Episode(SQLModel, table=True):
    """One ended stretch of a conversation, its outcome and the customer's rating of it."""

    __tablename__ = "conversation_outcome"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    first_seq: int
    last_seq: int
    outcome: str = Field(max_length=32, index=True)
    ended_by: str = Field(max_length=64)  # customer | agent:<id> | idle
    ended_at: datetime = Field(default_factory=utcnow, index=True)
    satisfaction: int | None = None  # 1-5
    satisfaction_at: datetime | None = None
