"""Who owns a conversation: the bot, the queue, or exactly one agent.

Every change is one conditional UPDATE (`... WHERE owner IN (expected)`), so two agents who
claim the same conversation at the same moment cannot both win: the database decides, and the
loser is told. Each change that happens is stored with who, when and why.

    bot --queue()--> queue --claim()--> agent:<id> --release()--> bot | queue
      \\________________claim() (an agent takes over proactively)__/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy import Engine as Database
from sqlmodel import Session, col, select

from engine.clock import utcnow
from engine.models import Conversation
from engine.owners import BOT, QUEUE, agent_owner
from handoff.models import OwnershipChange


@dataclass(frozen=True)
class Change:
    """The outcome of an attempted change: whether it happened, and who owns it now."""

    done: bool
    owner: str | None  # None: no such conversation


class Ownership:
    def __init__(self, db: Database) -> None:
        self._db = db

    def queue(self, conversation_id: int, reason: str, actor: str) -> Change:
        """Put a conversation the bot has in the queue for a person."""
        return self._move(conversation_id, (BOT,), QUEUE, actor, reason)

    def claim(self, conversation_id: int, agent_id: int) -> Change:
        """An agent takes a queued conversation (or, proactively, one the bot has)."""
        owner = agent_owner(agent_id)
        return self._move(conversation_id, (QUEUE, BOT), owner, owner, "claimed")

    def release(
        self, conversation_id: int, agent_id: int, to: str, reason: str, actor: str | None = None
    ) -> Change:
        """The agent hands back to the bot, puts it back in the queue, or it is resolved
        (`actor`: who did it, when not the agent: "system" for an agent gone offline)."""
        if to not in (BOT, QUEUE):
            raise ValueError(f"a conversation goes back to {BOT!r} or {QUEUE!r}, not {to!r}")
        owner = agent_owner(agent_id)
        return self._move(conversation_id, (owner,), to, actor or owner, reason)

    def leave_queue(self, conversation_id: int) -> Change:
        """The customer gives up waiting: the bot has the conversation again."""
        return self._move(conversation_id, (QUEUE,), BOT, "customer", "customer_left")

    def owner(self, conversation_id: int) -> str | None:
        with Session(self._db) as session:
            query = select(Conversation.owner).where(Conversation.id == conversation_id)
            return session.exec(query).first()

    def history(self, conversation_id: int) -> list[OwnershipChange]:
        with Session(self._db) as session:
            query = (
                select(OwnershipChange)
                .where(OwnershipChange.conversation_id == conversation_id)
                .order_by(col(OwnershipChange.id))
            )
            return list(session.exec(query).all())

    def _move(
        self, conversation_id: int, expected: Sequence[str], to: str, actor: str, reason: str
    ) -> Change:
        with Session(self._db) as session:
            current = session.exec(
                select(Conversation.owner).where(Conversation.id == conversation_id)
            ).first()
            if current is None:
                return Change(False, None)
            if current not in expected:
                return Change(False, current)
            statement = (
                update(Conversation)
                .where(col(Conversation.id) == conversation_id, col(Conversation.owner) == current)
                .values(owner=to, updated_at=utcnow())
            )
            moved = cast(CursorResult[Any], session.execute(statement))
            if moved.rowcount != 1:  # someone else changed it between our read and write
                session.rollback()
                return Change(False, self.owner(conversation_id))
            session.add(
                OwnershipChange(
                    conversation_id=conversation_id,
                    from_owner=current,
                    to_owner=to,
                    actor=actor,
                    reason=reason,
                )
            )
            session.commit()
            return Change(True, to)
