"""Tables of the human-agent side: agents, and every change of who owns a conversation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from engine.state import utcnow


class Agent(SQLModel, table=True):
    """A person on the support team."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime | None = None


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
