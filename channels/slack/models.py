"""What the Slack channel keeps: how far each conversation has been posted to Slack, and the
threads in the agents channel.

Posting is at-least-once towards Slack and exactly-once as the customer sees it: a message is
posted, then `posted_seq` moves past it, under a per-conversation lock. A restart, a retried
event or a rate limit picks up from `posted_seq`, so nothing is posted twice or lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.clock import utcnow


class SlackConversation(SQLModel, table=True):
    """A customer's conversation held in Slack (a DM, or a thread in a channel)."""

    __tablename__ = "slack_conversation"

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)  # None: a DM, answered in it
    posted_seq: int = 0  # every message up to this seq is in Slack (posted, or came from there)


class SlackAgentThread(SQLModel, table=True):
    """One handoff posted to the agents channel: its card, and the thread under it."""

    __tablename__ = "slack_agent_thread"
    __table_args__ = (UniqueConstraint("channel_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id")
    channel_id: str = Field(max_length=32)
    ts: str = Field(max_length=32)  # the card's ts: the thread's root
    posted_seq: int = 0  # the conversation's messages up to here are mirrored in the thread
    card_state: str = Field(default="", max_length=200)  # what the card shows now
    created_at: datetime = Field(default_factory=utcnow)
