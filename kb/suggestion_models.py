"""The table of FAQ entries suggested from agents' answers, waiting for a trainer's decision.

`learning/suggestions.py` fills it and decides on its rows; an accepted suggestion names the FAQ
entry it became (`faq_key`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

# covered: the FAQ answers it already (`faq_key` names the entry); kept so it is not asked again.
STATUSES = ("pending", "accepted", "rejected", "covered")


def _now() -> datetime:
    return datetime.now(UTC)


class FaqSuggestion(SQLModel, table=True):
    """A question customers asked and an agent answered, proposed for the FAQ.

    `source_message_ids` are the messages it was learned from (the customers' questions and the
    agents' replies); none of them is used for another suggestion."""

    __tablename__ = "faq_suggestion"

    id: int | None = Field(default=None, primary_key=True)
    question: str
    alternates: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    answer: str
    status: str = Field(default="pending", max_length=16, index=True)
    source_message_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    cluster_size: int = 1  # how many answered questions it stands for
    created_at: datetime = Field(default_factory=_now)
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=64)  # cli | agent:<id> | suggest
    faq_key: str | None = Field(default=None, max_length=120)  # the accepted or covering entry
