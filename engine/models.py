"""The conversation tables: customers, conversations, their messages and the ratings of the
bot's answers. A conversation remembers its customer, the slots earlier turns established
(`memory`), how many turns in a row failed, and every message with what the engine made of it
(`Message.understanding`, engine/understanding.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Dialect, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from engine.clock import utcnow
from engine.understanding import Understanding


class Customer(SQLModel, table=True):
    """Someone the desk knows by email: from the channel (a logged-in shop account), or from
    an order they proved is theirs by giving its email."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


# Channels of test conversations, not customers': evaluations, and `shopclerk chat` and `ask`.
TEST_CHANNELS = frozenset({"eval", "cli"})


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    key: str = Field(max_length=255)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_name: str | None = Field(default=None, max_length=200)
    memory: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    failures_in_a_row: int = 0
    last_seq: int = 0  # the highest message seq stored in this conversation
    owner: str = Field(default="bot", max_length=64)  # bot | queue | agent:<id> (handoff)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def given_emails(self) -> list[str]:
        """Every email typed in this conversation, by any of its authors (proved or not)."""
        emails = set(self.memory.get("emails", []))
        authors = self.memory.get("authors")
        for entry in authors.values() if isinstance(authors, dict) else ():
            emails.update(entry.get("emails", []) if isinstance(entry, dict) else ())
        return sorted(emails)

    def identified_email(self) -> str | None:
        """The email this conversation's customer is known or proved to have."""
        verified = self.memory.get("verified_email")
        return self.customer_email or (verified if isinstance(verified, str) else None)


class Role(StrEnum):
    """Who wrote a message. Stored as its value, the text rows always held."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"  # a person answering a handed-off conversation
    SYSTEM = "system"  # an event of the handoff told to the customer ("Sam joined")


class _RoleText(TypeDecorator[Role]):
    """A `Role` in a VARCHAR(16) column: its value in, a `Role` back out."""

    impl = AutoString(length=16)
    cache_ok = True

    def process_bind_param(self, value: Role | str | None, dialect: Dialect) -> str | None:
        return None if value is None else Role(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Role | None:
        return None if value is None else Role(value)


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_message_id"),
        UniqueConstraint("conversation_id", "seq", name="uq_message_conversation_seq"),
        # The reports' scans: a period's messages of one role, by conversation (migration 0010).
        Index("ix_message_report", "role", "created_at", "conversation_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    seq: int = 0  # 1, 2, 3... within the conversation: the order channels show and replay
    role: Role = Field(sa_column=Column(_RoleText(), nullable=False))
    text: str
    corrected_text: str | None = None
    client_message_id: str | None = Field(default=None, max_length=128)
    intent: str | None = Field(default=None, max_length=64)
    intent_confidence: float | None = None
    understanding: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    decision: str | None = Field(default=None, max_length=16)  # reply | handoff | rejected
    handoff_reason: str | None = Field(default=None, max_length=32)
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, index=True)

    @property
    def understood(self) -> Understanding:
        """`understanding` as its contract reads it (missing keys take their defaults)."""
        return Understanding.of(self.understanding)


ConversationKey = tuple[str, str]  # (channel, key)


class Feedback(SQLModel, table=True):
    """A customer's thumbs up or down on one bot message (the latest rating counts)."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    rating: str = Field(max_length=8)  # up | down
    created_at: datetime = Field(default_factory=utcnow, index=True)
