"""Conversation state in the database, so a conversation survives a restart.

A conversation remembers its customer, the slots earlier turns established (`memory`), how many
turns in a row failed, and every message with what the engine made of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Dialect,
    TypeDecorator,
    UniqueConstraint,
    insert,
    tuple_,
    update,
)
from sqlalchemy import Engine as Database
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar
from sqlmodel.sql.sqltypes import AutoString

from engine.understanding import Understanding


def utcnow() -> datetime:
    return datetime.now(UTC)


HISTORY = 30  # earlier messages a model is given with a customer's message (and trained on)


def aware(moment: datetime) -> datetime:
    """SQLite gives datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Customer(SQLModel, table=True):
    """Someone the desk knows by email: from the channel (a logged-in shop account), or from
    an order they proved is theirs by giving its email."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


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
    created_at: datetime = Field(default_factory=utcnow)


class ConversationStore:
    """Conversations and their messages. A batch of turns is one session and one commit."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self._db, expire_on_commit=False) as session:
            yield session

    def load_many(
        self, session: Session, keys: Sequence[ConversationKey]
    ) -> dict[ConversationKey, Conversation]:
        """The conversations with these keys, created on first contact, in one query."""
        wanted = list(dict.fromkeys(keys))
        query = select(Conversation).where(
            tuple_(col(Conversation.channel), col(Conversation.key)).in_(wanted)
        )
        found = {(c.channel, c.key): c for c in session.exec(query).all()}
        new = [Conversation(channel=ch, key=k) for ch, k in wanted if (ch, k) not in found]
        if new:
            session.add_all(new)
            session.flush()  # assigns their ids
            found.update({(c.channel, c.key): c for c in new})
        # Detached from here on: `record` writes their state back in one statement.
        session.expunge_all()
        return found

    def load(self, channel: str, key: str) -> Conversation:
        with self.session() as session:
            conversation = self.load_many(session, [(channel, key)])[(channel, key)]
            session.commit()
            return conversation

    @staticmethod
    def earlier_reply(session: Session, conversation_id: int, client_message_id: str) -> str | None:
        """The reply already given to this client message id, if it was received before."""
        asked = session.exec(
            select(Message.id).where(
                Message.conversation_id == conversation_id,
                Message.client_message_id == client_message_id,
            )
        ).first()
        if asked is None:
            return None
        reply = session.exec(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, col(Message.id) > asked,
                   Message.role == Role.BOT)
            .order_by(col(Message.id))
        ).first()  # fmt: skip
        return reply or ""

    @staticmethod
    def record(
        session: Session,
        conversations: Iterable[Conversation],
        messages: Sequence[dict[str, Any]],
    ) -> None:
        """Write the conversations' state and insert the message rows, then commit: one
        statement each, however many conversations the batch held. Never the owner: only
        `handoff.ownership` changes that, with its conditional updates."""
        conversations = list(conversations)
        _link_customers(session, conversations)
        now = utcnow()
        state = [
            {"id": c.id, "customer_id": c.customer_id, "customer_email": c.customer_email,
             "customer_name": c.customer_name,
             "memory": c.memory, "failures_in_a_row": c.failures_in_a_row,
             "last_seq": c.last_seq, "updated_at": now}
            for c in conversations
        ]  # fmt: skip
        if state:
            session.execute(update(Conversation), state)
        if messages:
            session.execute(insert(Message), list(messages))
        session.commit()

    def append(
        self,
        conversation_id: int,
        role: Role,
        text: str,
        understanding: Understanding | None = None,
        client_message_id: str | None = None,
    ) -> Message:
        """Store one message that is not a turn (an agent's reply, an event of the handoff) as
        the conversation's next seq. The seq is taken with a conditional update, so a writer
        that got there first makes this one retry instead of both using the same number."""
        for _ in range(20):
            with Session(self._db, expire_on_commit=False) as session:
                last = session.exec(
                    select(Conversation.last_seq).where(Conversation.id == conversation_id)
                ).one()
                taken = session.execute(
                    update(Conversation)
                    .where(col(Conversation.id) == conversation_id,
                           col(Conversation.last_seq) == last)
                    .values(last_seq=last + 1, updated_at=utcnow())
                )  # fmt: skip
                if getattr(taken, "rowcount", 0) != 1:
                    session.rollback()
                    continue
                message = Message(conversation_id=conversation_id, seq=last + 1, role=role,
                                  text=text,
                                  understanding=understanding.stored() if understanding else {},
                                  client_message_id=client_message_id)  # fmt: skip
                session.add(message)
                session.commit()
                return message
        raise RuntimeError(f"conversation {conversation_id}: no free seq after 20 tries")

    def exists(self, channel: str, key: str) -> bool:
        with Session(self._db) as session:
            query = select(Conversation.id).where(
                Conversation.channel == channel, Conversation.key == key
            )
            return session.exec(query).first() is not None

    def messages_after(self, channel: str, key: str, seq: int, limit: int = 500) -> list[Message]:
        """The conversation's messages with a higher seq than `seq`, in order."""
        with Session(self._db) as session:
            query = _messages_of(channel, key).where(col(Message.seq) > seq)
            return list(session.exec(query.order_by(col(Message.seq)).limit(limit)).all())

    def message_for_client_id(self, channel: str, key: str, client_id: str) -> Message | None:
        with Session(self._db) as session:
            query = _messages_of(channel, key).where(Message.client_message_id == client_id)
            return session.exec(query).first()

    def save_feedback(self, channel: str, key: str, message_id: int, rating: str) -> bool:
        """Record a rating of one of this conversation's bot messages; False if it is not one."""
        with Session(self._db) as session:
            query = _messages_of(channel, key).where(Message.id == message_id,
                                                     Message.role == Role.BOT)  # fmt: skip
            message = session.exec(query).first()
            if message is None:
                return False
            existing = session.exec(
                select(Feedback).where(Feedback.message_id == message_id)
            ).first()
            feedback = existing or Feedback(message_id=message_id, rating=rating)
            feedback.rating, feedback.created_at = rating, utcnow()
            session.add(feedback)
            session.commit()
            return True

    def answered(
        self, conversation_id: int, client_message_id: str | None
    ) -> tuple[Message, Message, list[Message]] | None:
        """A customer's message, the bot's reply to it (the next seq) and the 30 messages
        before it; the latest such pair when there is no client id."""
        with Session(self._db) as session:
            mine = select(Message).where(Message.conversation_id == conversation_id,
                                         Message.role == Role.CUSTOMER)  # fmt: skip
            if client_message_id is not None:
                mine = mine.where(Message.client_message_id == client_message_id)
            customer = session.exec(mine.order_by(col(Message.seq).desc())).first()
            if customer is None:
                return None
            bot = session.exec(select(Message).where(
                Message.conversation_id == conversation_id, Message.seq == customer.seq + 1,
                Message.role == Role.BOT)).first()  # fmt: skip
            if bot is None:
                return None
            earlier = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.seq < customer.seq)
                .order_by(col(Message.seq).desc())
                .limit(HISTORY)
            ).all()
            return customer, bot, list(reversed(earlier))

    def revise(self, message_id: int, text: str, understanding: Understanding) -> None:
        """A bot message rewritten before any channel showed it (the `openai` generator)."""
        with Session(self._db) as session:
            message = session.get(Message, message_id)
            if message is None:
                return
            message.text = text
            message.understanding = {**message.understanding, **understanding.stored()}
            session.add(message)
            session.commit()

    def history(self, conversation_id: int, limit: int = 50) -> list[Message]:
        with Session(self._db) as session:
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id).desc())
                .limit(limit)
            )
            return list(reversed(session.exec(query).all()))


def _messages_of(channel: str, key: str) -> SelectOfScalar[Message]:
    """The messages of the conversation with this key (to narrow down further)."""
    return (
        select(Message)
        .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
        .where(Conversation.channel == channel, Conversation.key == key)
    )


def _link_customers(session: Session, conversations: Sequence[Conversation]) -> None:
    """Give each conversation whose customer became known its `Customer` row."""
    unlinked: dict[str, list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        email = conversation.identified_email()
        if conversation.customer_id is None and email:
            unlinked[email].append(conversation)
    if not unlinked:
        return
    query = select(Customer).where(col(Customer.email).in_(list(unlinked)))
    found = {c.email: c for c in session.exec(query).all()}
    new = [Customer(email=email, name=waiting[0].customer_name)
           for email, waiting in unlinked.items() if email not in found]  # fmt: skip
    if new:
        session.add_all(new)
        session.flush()  # assigns their ids
        found.update({c.email: c for c in new})
    for email, waiting in unlinked.items():
        for conversation in waiting:
            conversation.customer_id = found[email].id
