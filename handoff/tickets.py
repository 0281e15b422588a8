"""The handoff's records in the database: what changes them (run on the engine's worker thread,
so they interleave cleanly with turns) and what reads them (the board, a conversation's view).

Every change of owner goes through `Ownership` (race-safe, with its audit trail); this module
keeps the `HandoffRecord` beside it, and writes the events the customer sees ("Anna joined the
chat.") as messages of the conversation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine as Database
from sqlalchemy import func
from sqlmodel import Session, col, select

from engine.clock import utcnow
from engine.models import TEST_CHANNELS, Conversation, Message, Role
from engine.owners import AGENT_OWNERS, BOT, QUEUE, Owner, agent_owner
from engine.store import ConversationStore
from engine.understanding import Understanding
from handoff.models import Agent, HandoffRecord, Note, aware
from handoff.ownership import Change, Ownership

DRAFT_USES = ("sent", "edited", "own")
ADDRESSES_KEPT = 2_000  # conversations whose (channel, key) is kept (~300 B each)
OUTCOMES = ("resolved", "unresolved", "abandoned")
# What the customer is told when an agent lets go of their conversation, by reason.
RELEASED = {
    "handed_back": "{name} handed you back to our assistant.",
    "resolved": "{name} marked this conversation as solved. Write again any time.",
    "unresolved": "{name} closed this conversation. Write again any time.",
    "abandoned": "{name} closed this conversation. Write again any time.",
    "put_back": "{name} passed your conversation on; someone else will be with you shortly.",
    "agent_offline": "{name} had to leave; you are back in the queue.",
}


class NotYoursError(Exception):
    """An agent acted on a conversation someone else (or nobody) owns."""

    def __init__(self, owner: str | None) -> None:
        super().__init__(f"the conversation is owned by {owner}")
        self.owner = owner


@dataclass(frozen=True)
class Event:
    """What happened, for the desk to tell consoles and the customer."""

    conversation_id: int
    change: Change
    message: Message | None = None  # the event as the customer sees it, if any


class Tickets:
    def __init__(self, db: Database, store: ConversationStore) -> None:
        self._db = db
        self.store = store
        self.ownership = Ownership(db)
        self._addresses: OrderedDict[int, tuple[str, str]] = OrderedDict()

    @property
    def db(self) -> Database:
        return self._db

    # -- changes (on the worker thread) ---------------------------------------------------------

    def hand_off(self, conversation_id: int, reason: str, by: str, offline: bool) -> Event:
        """From the bot to the queue; a no-op (done=False) when a person already has it."""
        change = self.ownership.queue(conversation_id, reason, by)
        if change.done:
            self._open(conversation_id, reason, by, offline)
        return Event(conversation_id, change)

    def claim(self, conversation_id: int, agent: Agent) -> Event:
        """An agent takes it from the queue, or takes it over from the bot."""
        agent_id = _id(agent)
        before = self.ownership.owner(conversation_id)
        change = self.ownership.claim(conversation_id, agent_id)
        if not change.done:
            return Event(conversation_id, change)
        with Session(self._db) as session:
            record = _open_record(session, conversation_id)
            if record is None or before == BOT:
                record = HandoffRecord(
                    conversation_id=conversation_id,
                    reason="agent_took_over",
                    requested_by=agent_owner(agent_id),
                )
            record.agent_id, record.claimed_at = agent_id, utcnow()
            session.add(record)
            session.commit()
        text = f"{agent.display_name} joined the chat."
        return Event(conversation_id, change, self.store.append(conversation_id, Role.SYSTEM, text))

    def release(
        self, conversation_id: int, agent: Agent, to: str, outcome: str, actor: str | None = None
    ) -> Event:
        """The agent lets go: to the bot (handed back, or resolved with an outcome) or to the
        queue (put back, or the agent went offline)."""
        agent_id = _id(agent)
        change = self.ownership.release(conversation_id, agent_id, to, outcome, actor)
        if not change.done:
            raise NotYoursError(change.owner)
        with Session(self._db) as session:
            record = _open_record(session, conversation_id)
            if record is not None:
                record.closed_at, record.outcome = utcnow(), outcome
                session.add(record)
                session.commit()
        if to == QUEUE:
            self._open(conversation_id, outcome, actor or agent_owner(agent_id), offline=False)
        text = RELEASED[outcome].format(name=agent.display_name)
        return Event(conversation_id, change, self.store.append(conversation_id, Role.SYSTEM, text))

    def reply(
        self, conversation_id: int, agent: Agent, text: str, client_id: str, draft_use: str
    ) -> Message:
        """An agent's message to the customer, paired with the customer messages it answers
        (those since the agent's previous reply in this handoff)."""
        agent_id = _id(agent)
        owner = self.ownership.owner(conversation_id)
        if owner != agent_owner(agent_id):
            raise NotYoursError(owner)
        with Session(self._db, expire_on_commit=False) as session:
            same = select(Message).where(
                Message.conversation_id == conversation_id, Message.client_message_id == client_id
            )
            earlier = session.exec(same).first()
            if earlier is not None:  # sent again (a retry): stored once
                return earlier
            record = _open_record(session, conversation_id)
            answers, draft = _answered(session, conversation_id, record)
            if record is not None and record.first_reply_at is None:
                record.first_reply_at = utcnow()
                session.add(record)
                session.commit()
        understanding = Understanding(
            agent_id=agent_id,
            agent_name=agent.display_name,
            handoff_id=record.id if record else None,
            answers=answers,
            draft=draft_use,
            draft_text=draft,
        )
        return self.store.append(conversation_id, Role.AGENT, text, understanding, client_id)

    def withdraw(self, conversation_id: int) -> Event:
        """The customer leaves the queue (ends the chat before anyone took it): back to the
        bot, the handoff closed as abandoned."""
        change = self.ownership.leave_queue(conversation_id)
        if change.done:
            with Session(self._db) as session:
                record = _open_record(session, conversation_id)
                if record is not None:
                    record.closed_at, record.outcome = utcnow(), "abandoned"
                    session.add(record)
                    session.commit()
        return Event(conversation_id, change)

    def note(self, conversation_id: int, agent: Agent, text: str) -> Note:
        with Session(self._db, expire_on_commit=False) as session:
            note = Note(conversation_id=conversation_id, agent_id=_id(agent), text=text)
            session.add(note)
            session.commit()
            return note

    def contact(self, conversation_id: int, email: str) -> bool:
        """Keep the email a waiting customer left; True if it was new to the open handoff."""
        with Session(self._db) as session:
            record = _open_record(session, conversation_id)
            if record is None or record.contact_email == email:
                return False
            record.contact_email = email
            session.add(record)
            session.commit()
            return True

    def announce_due(self, every: timedelta) -> list[int]:
        """Queued handoffs unclaimed for longer than `every` (and not announced for as long):
        flag them, and say which to announce again."""
        now = utcnow()
        with Session(self._db) as session:
            due = session.exec(
                select(HandoffRecord)
                .join(Conversation, col(Conversation.id) == col(HandoffRecord.conversation_id))
                .where(
                    col(HandoffRecord.closed_at).is_(None),
                    Conversation.owner == QUEUE,
                    col(HandoffRecord.requested_at) <= now - every,
                )
            ).all()
            announced = []
            for record in due:
                last = record.announced_at or record.requested_at
                if aware(last) > now - every:
                    continue
                record.flagged_at = record.flagged_at or now
                record.announced_at = now
                session.add(record)
                announced.append(record.conversation_id)
            session.commit()
            return announced

    def _open(self, conversation_id: int, reason: str, by: str, offline: bool) -> None:
        """A new handoff record; the customer's email when the conversation knows it (a
        logged-in customer, or one who proved an order theirs), so nobody asks again."""
        with Session(self._db) as session:
            conversation = session.get(Conversation, conversation_id)
            email = conversation.identified_email() if conversation else None
            session.add(
                HandoffRecord(
                    conversation_id=conversation_id,
                    reason=reason,
                    requested_by=by,
                    offline=offline,
                    contact_email=email,
                )
            )
            session.commit()

    # -- reads ----------------------------------------------------------------------------------

    def owner(self, conversation_id: int) -> str | None:
        """Who has the conversation now (handoff/ownership.py); None when there is none."""
        return self.ownership.owner(conversation_id)

    def owned_by(self, agent_id: int) -> list[int]:
        with Session(self._db) as session:
            query = select(Conversation.id).where(Conversation.owner == agent_owner(agent_id))
            return [i for i in session.exec(query).all() if i is not None]

    def owners(self) -> set[int]:
        """Agents who own a conversation now."""
        with Session(self._db) as session:
            owners = session.exec(
                select(Conversation.owner).where(col(Conversation.owner).like(AGENT_OWNERS))
            ).all()
            return {Owner.parse(o).agent_id or 0 for o in owners}

    def queue_order(self) -> list[int]:
        """Queued conversations: customers who asked while someone was there first, then the
        offline tickets (left when nobody was, most answered by email); longest waiting first
        within each. A customer in the chat is not kept waiting behind an inbox."""
        with Session(self._db) as session:
            query = (
                select(HandoffRecord.conversation_id)
                .join(Conversation, col(Conversation.id) == col(HandoffRecord.conversation_id))
                .where(col(HandoffRecord.closed_at).is_(None), Conversation.owner == QUEUE)
                .order_by(
                    col(HandoffRecord.offline),
                    col(HandoffRecord.requested_at),
                    col(HandoffRecord.id),
                )
            )
            return list(session.exec(query).all())

    def address(self, conversation_id: int) -> tuple[str, str] | None:
        """(channel, key) of a conversation (they never change, so the latest read are kept)."""
        known = self._addresses.get(conversation_id)
        if known is not None:
            return known
        with Session(self._db) as session:
            row = session.exec(
                select(Conversation.channel, Conversation.key).where(
                    Conversation.id == conversation_id
                )
            ).first()
        if row is None:
            return None
        self._addresses[conversation_id] = address = (row[0], row[1])
        if len(self._addresses) > ADDRESSES_KEPT:
            self._addresses.popitem(last=False)
        return address

    def known_address(self, conversation_id: int) -> tuple[str, str] | None:
        """The address if it has been read before (no database round trip)."""
        return self._addresses.get(conversation_id)

    def conversation_id(self, channel: str, key: str) -> int | None:
        with Session(self._db) as session:
            query = select(Conversation.id).where(
                Conversation.channel == channel, Conversation.key == key
            )
            return session.exec(query).first()

    def open_record(self, conversation_id: int) -> HandoffRecord | None:
        with Session(self._db) as session:
            return _open_record(session, conversation_id)

    def latest_record(self, conversation_id: int) -> HandoffRecord | None:
        with Session(self._db) as session:
            query = (
                select(HandoffRecord)
                .where(HandoffRecord.conversation_id == conversation_id)
                .order_by(col(HandoffRecord.id).desc())
            )
            return session.exec(query).first()

    def records(self, conversation_ids: Sequence[int]) -> dict[int, HandoffRecord]:
        """The open handoff of each of these conversations that has one."""
        with Session(self._db) as session:
            query = select(HandoffRecord).where(
                col(HandoffRecord.conversation_id).in_(list(conversation_ids)),
                col(HandoffRecord.closed_at).is_(None),
            )
            return {r.conversation_id: r for r in session.exec(query).all()}

    def conversations(self, ids: Sequence[int]) -> dict[int, Conversation]:
        with Session(self._db) as session:
            query = select(Conversation).where(col(Conversation.id).in_(list(ids)))
            return {c.id: c for c in session.exec(query).all() if c.id is not None}

    def with_people(self) -> list[int]:
        """Conversations the queue or an agent owns."""
        with Session(self._db) as session:
            query = select(Conversation.id).where(Conversation.owner != BOT)
            return [i for i in session.exec(query).all() if i is not None]

    def addresses_with_people(self) -> list[tuple[str, str]]:
        """The (channel, key) of every conversation the queue or an agent owns."""
        with Session(self._db) as session:
            query = select(Conversation.channel, Conversation.key).where(Conversation.owner != BOT)
            return [(channel, key) for channel, key in session.exec(query).all()]

    def recent_with_bot(self, since: datetime, limit: int = 30) -> list[int]:
        """Customers' conversations the bot had lately: not the command line's or the eval's
        (`TEST_CHANNELS`), which no agent can answer."""
        with Session(self._db) as session:
            query = (
                select(Conversation.id)
                .where(
                    Conversation.owner == BOT,
                    col(Conversation.updated_at) >= since,
                    Conversation.last_seq > 0,
                    col(Conversation.channel).not_in(sorted(TEST_CHANNELS)),
                )
                .order_by(col(Conversation.updated_at).desc())
                .limit(limit)
            )
            return [i for i in session.exec(query).all() if i is not None]

    def last_customer_messages(self, ids: Sequence[int]) -> dict[int, Message]:
        with Session(self._db) as session:
            latest = (
                select(func.max(Message.seq).label("seq"), col(Message.conversation_id))
                .where(col(Message.conversation_id).in_(list(ids)), Message.role == Role.CUSTOMER)
                .group_by(col(Message.conversation_id))
                .subquery()
            )
            query = select(Message).join(
                latest,
                (col(Message.conversation_id) == latest.c.conversation_id)
                & (col(Message.seq) == latest.c.seq),
            )
            return {m.conversation_id: m for m in session.exec(query).all()}

    def messages(self, conversation_id: int, limit: int = 1000) -> list[Message]:
        with Session(self._db) as session:
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.seq).desc())
                .limit(limit)
            )
            return list(reversed(session.exec(query).all()))

    def notes(self, conversation_id: int) -> list[Note]:
        with Session(self._db) as session:
            query = select(Note).where(Note.conversation_id == conversation_id)
            return list(session.exec(query.order_by(col(Note.id))).all())

    def agents(self, ids: Sequence[int] | None = None) -> dict[int, Agent]:
        with Session(self._db) as session:
            query = select(Agent)
            if ids is not None:
                query = query.where(col(Agent.id).in_(list(ids)))
            return {a.id: a for a in session.exec(query).all() if a.id is not None}


def _open_record(session: Session, conversation_id: int) -> HandoffRecord | None:
    query = (
        select(HandoffRecord)
        .where(
            HandoffRecord.conversation_id == conversation_id, col(HandoffRecord.closed_at).is_(None)
        )
        .order_by(col(HandoffRecord.id).desc())
    )
    return session.exec(query).first()


def _answered(
    session: Session, conversation_id: int, record: HandoffRecord | None
) -> tuple[list[int], str | None]:
    """The customer messages an agent reply answers now, and the bot's latest draft."""
    since = record.requested_at if record else None
    last_agent = session.exec(
        select(func.max(Message.seq)).where(
            Message.conversation_id == conversation_id, Message.role == Role.AGENT
        )
    ).one()
    query = select(Message).where(
        Message.conversation_id == conversation_id,
        Message.role == Role.CUSTOMER,
        col(Message.seq) > (last_agent or 0),
    )
    if since is not None:
        query = query.where(col(Message.created_at) >= since - timedelta(minutes=30))
    # "Can I talk to a person?" is not a question the agent's reply answers.
    waiting = [
        m
        for m in session.exec(query.order_by(col(Message.seq))).all()
        if m.intent != "contact_human_agent"
    ]
    draft = waiting[-1].understood.draft if waiting else None
    return [m.id for m in waiting if m.id is not None], (
        draft.get("text") if isinstance(draft, dict) else None
    )


def _id(agent: Agent) -> int:
    if agent.id is None:
        raise ValueError("an agent that is not stored")
    return agent.id
