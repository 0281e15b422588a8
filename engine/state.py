"""Conversation state in the database, so a conversation survives a restart.

A conversation remembers its customer, the slots earlier turns established (`memory`), how many
turns in a row failed, and every message with what the engine made of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy import Engine as Database
from sqlmodel import Field, Session, SQLModel, col, select


def utcnow() -> datetime:
    return datetime.now(UTC)


class Conversation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    key: str = Field(max_length=255)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_name: str | None = Field(default=None, max_length=200)
    memory: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    failures_in_a_row: int = 0
    owner: str = Field(default="bot", max_length=64)  # bot | queue | agent:<id> (handoff)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def given_emails(self) -> list[str]:
        return list(self.memory.get("emails", []))


class Message(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("conversation_id", "client_message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    role: str = Field(max_length=16)  # customer | bot
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


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, channel: str, key: str) -> Conversation:
        """The conversation with this key, created on first contact."""
        with Session(self._db, expire_on_commit=False) as session:
            found = session.exec(
                select(Conversation).where(Conversation.channel == channel, Conversation.key == key)
            ).first()
            if found is not None:
                return found
            conversation = Conversation(channel=channel, key=key)
            session.add(conversation)
            session.commit()
            return conversation

    def history(self, conversation_id: int, limit: int = 50) -> list[Message]:
        with Session(self._db) as session:
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id).desc())
                .limit(limit)
            )
            return list(reversed(session.exec(query).all()))

    def save_turns(self, turns: Sequence[tuple[Conversation, list[Message]]]) -> None:
        """Store the conversations' new state and messages in one transaction."""
        with Session(self._db, expire_on_commit=False) as session:
            for conversation, messages in turns:
                conversation.updated_at = utcnow()
                session.merge(conversation)
                session.add_all(messages)
            session.commit()
