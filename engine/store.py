"""Conversation state in the database, so a conversation survives a restart: the store that
loads conversations, records turns and appends the messages that are not turns.

Many processes may write one conversation at once (two engine workers, an agent's reply on
another web process). Every write that gives out seqs is conditional on the conversation being
as its writer read it (`Seen`: its last seq and owner), so two writers never take the same seq:

    load (Seen) -> compute -> UPDATE ... WHERE last_seq = seen AND owner = seen -> insert rows
                                   | 0 rows: someone wrote first
                                   v
                   roll back, load again (locked), compute again

`record` does that for a whole batch in one statement; a batch that lost anywhere is rolled
back and computed again by its engine, so no turn is lost and no insert ever fails on a
duplicate seq. First contact (`load_many`) and customer links insert with ON CONFLICT DO
NOTHING, so two processes creating the same conversation or customer both go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import Engine as Database
from sqlalchemy import Table, bindparam, insert, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from engine.clock import utcnow
from engine.models import Conversation, ConversationKey, Customer, Feedback, Message, Role
from engine.understanding import Understanding

HISTORY = 30  # earlier messages a model is given with a customer's message (and trained on)


class SeqConflictError(RuntimeError):
    """A batch lost to other writers of its conversations on every try (see the module
    docstring): its messages were not recorded."""


class Seen(NamedTuple):
    """A conversation as a writer read it: `record` writes only if it is still so."""

    last_seq: int
    owner: str

    @classmethod
    def of(cls, conversation: Conversation) -> Seen:
        return cls(conversation.last_seq, conversation.owner)


class ConversationStore:
    """Conversations and their messages. A batch of turns is one session and one commit."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self._db, expire_on_commit=False) as session:
            yield session

    def load_many(
        self, session: Session, keys: Sequence[ConversationKey], *, lock: bool = False
    ) -> dict[ConversationKey, Conversation]:
        """The conversations with these keys, created on first contact, in one query (two on
        first contact). `lock` (PostgreSQL) holds their rows until the session commits, so a
        batch computed again after a conflict cannot lose again."""
        wanted = sorted(dict.fromkeys(keys))
        query = (
            select(Conversation)
            .where(tuple_(col(Conversation.channel), col(Conversation.key)).in_(wanted))
            .execution_options(populate_existing=True)
        )
        if lock:
            query = query.order_by(col(Conversation.id)).with_for_update()  # one lock order
        found = {(c.channel, c.key): c for c in session.exec(query).all()}
        new = [
            Conversation(channel=ch, key=k).model_dump(exclude={"id"})
            for ch, k in wanted
            if (ch, k) not in found
        ]
        if new:
            # Committed at once (another process may be creating the same conversation; its
            # row is then taken as ours), and never held while the batch is computed.
            table = _table(Conversation)
            session.execute(_insert_new(session, table, ["channel", "key"]), new)
            session.commit()
            found.update({(c.channel, c.key): c for c in session.exec(query).all()})
        # Detached from here on: `record` writes their state back in one statement.
        session.expunge_all()
        return found

    def load(self, channel: str, key: str) -> Conversation:
        with self.session() as session:
            conversation = self.load_many(session, [(channel, key)])[(channel, key)]
            session.commit()
            return conversation

    @staticmethod
    def asked_before(session: Session, asked: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of these (conversation id, client message id) are stored already: one query
        for a whole batch, so that only those need `earlier_reply`."""
        pairs = list(asked)
        if not pairs:
            return set()
        query = select(Message.conversation_id, Message.client_message_id).where(
            tuple_(col(Message.conversation_id), col(Message.client_message_id)).in_(pairs)
        )
        return {(cid, str(client_id)) for cid, client_id in session.exec(query).all()}

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
            .where(
                Message.conversation_id == conversation_id,
                col(Message.id) > asked,
                Message.role == Role.BOT,
            )
            .order_by(col(Message.id))
        ).first()
        return reply or ""

    @staticmethod
    def record(
        session: Session,
        conversations: Iterable[Conversation],
        messages: Sequence[dict[str, Any]],
        seen: Mapping[int, Seen],
    ) -> bool:
        """Write the conversations' state and insert the message rows (each row gets its
        "id"), then commit: one statement each, however many conversations the batch held.
        Each conversation is
        written only if it is still as `seen` (by id) says; if any is not, nothing is written
        (rolled back) and the answer is False: compute the batch again from a fresh load.
        Never the owner: only `handoff.ownership` changes that, with its conditional updates."""
        conversations = sorted(conversations, key=lambda c: c.id or 0)  # one lock order
        _link_customers(session, conversations)
        now = utcnow()
        state = [
            {
                "seen_id": c.id,
                "seen_seq": seen[c.id or 0].last_seq,
                "seen_owner": seen[c.id or 0].owner,
                "customer_id": c.customer_id,
                "customer_email": c.customer_email,
                "customer_name": c.customer_name,
                "memory": c.memory,
                "failures_in_a_row": c.failures_in_a_row,
                "last_seq": c.last_seq,
                "updated_at": now,
            }
            for c in conversations
        ]
        if state:
            table = _table(Conversation)
            unchanged = update(table).where(
                table.c.id == bindparam("seen_id"),
                table.c.last_seq == bindparam("seen_seq"),
                table.c.owner == bindparam("seen_owner"),
            )
            written = session.execute(unchanged, state)
            if getattr(written, "rowcount", 0) != len(state):  # someone wrote first
                session.rollback()
                return False
        if messages:
            # One INSERT for all the rows; each row is given its id (the frames that show the
            # turn at once name the message, for feedback).
            returning = insert(Message).returning(col(Message.id), sort_by_parameter_order=True)
            ids = session.execute(returning, list(messages)).scalars().all()
            for row, id_ in zip(messages, ids, strict=True):
                row["id"] = id_
        session.commit()
        return True

    @staticmethod
    def changed(session: Session, seen: Mapping[int, Seen]) -> list[int]:
        """The conversations (of `seen`) that are no longer as seen: written meanwhile."""
        query = select(Conversation.id, Conversation.last_seq, Conversation.owner).where(
            col(Conversation.id).in_(list(seen))
        )
        now = {id_: Seen(last_seq, owner) for id_, last_seq, owner in session.exec(query).all()}
        return sorted(id_ for id_, was in seen.items() if now.get(id_) != was)

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
                    .where(
                        col(Conversation.id) == conversation_id, col(Conversation.last_seq) == last
                    )
                    .values(last_seq=last + 1, updated_at=utcnow())
                )
                if getattr(taken, "rowcount", 0) != 1:
                    session.rollback()
                    continue
                message = Message(
                    conversation_id=conversation_id,
                    seq=last + 1,
                    role=role,
                    text=text,
                    understanding=understanding.stored() if understanding else {},
                    client_message_id=client_message_id,
                )
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
            query = _messages_of(channel, key).where(
                Message.id == message_id, Message.role == Role.BOT
            )
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
            mine = select(Message).where(
                Message.conversation_id == conversation_id, Message.role == Role.CUSTOMER
            )
            if client_message_id is not None:
                mine = mine.where(Message.client_message_id == client_message_id)
            customer = session.exec(mine.order_by(col(Message.seq).desc())).first()
            if customer is None:
                return None
            bot = session.exec(
                select(Message).where(
                    Message.conversation_id == conversation_id,
                    Message.seq == customer.seq + 1,
                    Message.role == Role.BOT,
                )
            ).first()
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
    query = select(Customer).where(col(Customer.email).in_(sorted(unlinked)))
    found = {c.email: c for c in session.exec(query).all()}
    new = [
        {"email": email, "name": waiting[0].customer_name, "created_at": utcnow()}
        for email, waiting in sorted(unlinked.items())
        if email not in found
    ]
    if new:  # another process may be adding the same customer: its row is then taken
        session.execute(_insert_new(session, _table(Customer), ["email"]), new)
        found.update({c.email: c for c in session.exec(query).all()})
    for email, waiting in unlinked.items():
        for conversation in waiting:
            conversation.customer_id = found[email].id


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _insert_new(session: Session, table: Table, unique: list[str]) -> Insert:
    """An INSERT that skips rows whose `unique` columns another writer has stored already
    (PostgreSQL and SQLite both say ON CONFLICT DO NOTHING)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=unique)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=unique)
