"""Tables of the human-agent side: agents, and every change of who owns a conversation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.clock import aware, utcnow


class Agent(SQLModel, table=True):
    """A person on the support team."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime | None = None
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True, index=True)


class OwnershipChange(SQLModel, table=True):
    """Who took a conversation from whom, when and why: the handoff's audit trail."""

    __tablename__ = "ownership_change"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    from_owner: str = Field(max_length=64)
    to_owner: str = Field(max_length=64)
    actor: str = Field(max_length=64)  # bot | customer | agent:<id> | system
    reason: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)


class HandoffRecord(SQLModel, table=True):
    """One stint of a conversation with the people: from the moment it is queued (or taken
    over) until it is handed back, resolved, abandoned or put back in the queue.

    Wait time is `claimed_at - requested_at`, handling time `closed_at - claimed_at`."""

    __tablename__ = "handoff"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    reason: str = Field(max_length=32)
    requested_by: str = Field(max_length=64)  # bot | customer | agent:<id> | system
    requested_at: datetime = Field(default_factory=utcnow, index=True)
    offline: bool = False  # nobody was there (no agent online, or closed): an offline ticket
    contact_email: str | None = Field(default=None, max_length=320)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    claimed_at: datetime | None = None
    first_reply_at: datetime | None = None
    flagged_at: datetime | None = None  # waited unclaimed too long
    announced_at: datetime | None = None  # last time the consoles were told it needs someone
    closed_at: datetime | None = Field(default=None, index=True)
    outcome: str | None = Field(default=None, max_length=32)


class Note(SQLModel, table=True):
    """An agent's internal note on a conversation: never shown to the customer."""

    __tablename__ = "handoff_note"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    agent_id: int = Field(foreign_key="agent.id")
    text: str
    created_at: datetime = Field(default_factory=utcnow)


class AgentLogin(SQLModel, table=True):
    """A signed-in console session; logging out ends it, so a copied cookie stops working."""

    __tablename__ = "agent_login"

    id: str = Field(primary_key=True, max_length=64)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


__all__ = ["Agent", "AgentLogin", "HandoffRecord", "Note", "OwnershipChange", "aware"]
