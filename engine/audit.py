"""The security log: what clients tried that matters for customers' privacy.

Failed proofs of an order (an order number with an email that is not its email), the lockouts
they lead to, and shop identities whose signature did not check out. Limits count these rows,
so they hold across sessions, processes and restarts; agents see a conversation's rows in the
console.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine as Database
from sqlalchemy import func
from sqlmodel import Field, Session, SQLModel, col, select

from engine.clock import utcnow

PROOF_FAILED: Final = "proof_failed"  # an order number and an email that do not belong together
PROOF_LOCKED: Final = "proof_locked"  # a look-up refused: too many failures
IDENTITY_REJECTED: Final = "identity_rejected"  # a signed shop identity that did not verify
KINDS: Final = (PROOF_FAILED, PROOF_LOCKED, IDENTITY_REJECTED)


class SecurityEvent(SQLModel, table=True):
    __tablename__ = "security_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    channel: str | None = Field(default=None, max_length=32)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    address: str | None = Field(default=None, max_length=64, index=True)  # the client's
    order_id: str | None = Field(default=None, max_length=32, index=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, index=True)


def event(
    kind: str,
    *,
    channel: str | None = None,
    conversation_id: int | None = None,
    address: str | None = None,
    order_id: str | None = None,
    email: str | None = None,
    detail: str = "",
) -> SecurityEvent:
    """A row to add (the caller's session commits it with whatever else it writes)."""
    return SecurityEvent(
        kind=kind,
        channel=channel,
        conversation_id=conversation_id,
        address=address[:64] if address else None,
        order_id=order_id,
        email=email.lower()[:320] if email else None,
        detail=detail[:500],
    )


class SecurityLog:
    """Reading and writing the log outside a batch of turns (channels, the console)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, row: SecurityEvent) -> None:
        with Session(self._db) as session:
            session.add(row)
            session.commit()

    def count(self, kind: str, since: timedelta, **where: str | int | None) -> int:
        """Rows of `kind` in the last `since` matching every given column (None: any)."""
        with Session(self._db) as session:
            return count(session, kind, since, **where)

    def of_conversation(self, conversation_id: int, limit: int = 50) -> Sequence[SecurityEvent]:
        with Session(self._db) as session:
            query = (
                select(SecurityEvent)
                .where(SecurityEvent.conversation_id == conversation_id)
                .order_by(col(SecurityEvent.id).desc())
                .limit(limit)
            )
            return list(reversed(session.exec(query).all()))


def count(session: Session, kind: str, since: timedelta, **where: str | int | None) -> int:
    query = select(func.count()).where(
        SecurityEvent.kind == kind, col(SecurityEvent.created_at) >= utcnow() - since
    )
    for name, value in where.items():
        if value is not None:
            query = query.where(getattr(SecurityEvent, name) == value)
    return int(session.exec(query).one())
