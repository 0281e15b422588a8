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

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine as Database
from sqlalchemy import func
from sqlmodel import Field, Session, SQLModel, col, select

from engine.clock import aware, utcnow
from engine.intent_data import FAILED_INTENTS
from engine.models import Conversation, Feedback, Message, Role
from engine.owners import BOT

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


# An agent's closing outcome (handoff/tickets.py OUTCOMES) as the episode's outcome.
FROM_AGENT = {"resolved": "agent_resolved", "unresolved": "handed_off_unresolved",
              "abandoned": "abandoned"}  # fmt: skip


def classify(messages: Sequence[Message], thumbs_down: set[int], owner: str) -> str:
    """The outcome of an episode that ended without an agent's verdict (the customer said
    goodbye, ended the chat, or went away)."""
    if owner != BOT or any(m.role == Role.AGENT for m in messages):
        return "abandoned"  # left while waiting for (or talking to) a person
    asked = [m for m in messages if m.role == Role.CUSTOMER]
    answers = [m for m in messages if m.role == Role.BOT and m.decision != "rejected"]
    if not asked or not answers:
        return "abandoned"
    last = answers[-1]
    failed = (
        last.decision == "handoff" or last.id in thumbs_down or asked[-1].intent in FAILED_INTENTS
    )
    helped = any(m.decision == "reply" and m.id not in thumbs_down for m in answers)
    return "abandoned" if failed or not helped else "bot_resolved"


class Outcomes:
    """Ending episodes, and the customer's rating of them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def end(
        self, conversation_id: int, ended_by: str, outcome: str | None = None
    ) -> Episode | None:
        """End the conversation's current episode (None: nothing new since the last one)."""
        with Session(self._db, expire_on_commit=False) as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            first = self._next_seq(session, conversation_id)
            if first > conversation.last_seq:
                return None
            messages = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id, col(Message.seq) >= first)
                .order_by(col(Message.seq))
            ).all()
            if not any(m.role == Role.CUSTOMER for m in messages):
                return None
            if outcome is None:
                ids = [m.id for m in messages if m.id is not None]
                rated_down = select(Feedback.message_id).where(
                    col(Feedback.message_id).in_(ids), Feedback.rating == "down"
                )
                down = set(session.exec(rated_down).all())
                outcome = classify(messages, down, conversation.owner)
            episode = Episode(
                conversation_id=conversation_id,
                first_seq=first,
                last_seq=conversation.last_seq,
                outcome=outcome,
                ended_by=ended_by,
            )
            session.add(episode)
            session.commit()
            return episode

    def rate(self, conversation_id: int, episode_id: int, score: int) -> Episode | None:
        """The customer's 1-5 for one of their conversation's episodes (the latest counts)."""
        if score not in SCALE:
            return None
        with Session(self._db, expire_on_commit=False) as session:
            episode = session.get(Episode, episode_id)
            if episode is None or episode.conversation_id != conversation_id:
                return None
            episode.satisfaction, episode.satisfaction_at = score, utcnow()
            session.add(episode)
            session.commit()
            return episode

    def unrated(self, conversation_id: int, within: timedelta) -> Episode | None:
        """The latest episode, if it ended recently, was asked about and is not rated yet (to
        ask again when the customer comes back)."""
        with Session(self._db, expire_on_commit=False) as session:
            episode = session.exec(
                select(Episode)
                .where(Episode.conversation_id == conversation_id)
                .order_by(col(Episode.id).desc())
            ).first()
        if episode is None or episode.satisfaction is not None or episode.ended_by == "idle":
            return None
        return episode if aware(episode.ended_at) >= utcnow() - within else None

    def idle(self, minutes: int = IDLE_MINUTES) -> list[int]:
        """Conversations with the bot that nobody wrote in for `minutes`, with messages since
        their last episode ended."""
        before = utcnow() - timedelta(minutes=minutes)
        with Session(self._db) as session:
            ended = (
                select(Episode.conversation_id, func.max(Episode.last_seq).label("last"))
                .group_by(col(Episode.conversation_id))
                .subquery()
            )
            query = (
                select(Conversation.id)
                .outerjoin(ended, ended.c.conversation_id == col(Conversation.id))
                .where(
                    Conversation.owner == BOT,
                    col(Conversation.updated_at) < before,
                    Conversation.last_seq > func.coalesce(ended.c.last, 0),
                )
                .limit(500)
            )
            return [i for i in session.exec(query).all() if i is not None]

    def episodes(self, conversation_id: int) -> list[Episode]:
        with Session(self._db) as session:
            query = select(Episode).where(Episode.conversation_id == conversation_id)
            return list(session.exec(query.order_by(col(Episode.id))).all())

    @staticmethod
    def _next_seq(session: Session, conversation_id: int) -> int:
        last = session.exec(
            select(func.max(Episode.last_seq)).where(Episode.conversation_id == conversation_id)
        ).one()
        return (last or 0) + 1
