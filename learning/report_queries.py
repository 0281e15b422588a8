"""The reports' queries (learning/reports.py makes the figures of what they return): narrow
columns of a period's rows, filtered, grouped and counted by the database, on SQLite and
PostgreSQL alike. Moments are compared as stored (UTC); `epoch` turns one into seconds on
either database. Migration 0010's indexes serve them (docs/reports.md, "Speed").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    select,
    text,
    union_all,
)
from sqlalchemy import Engine as Database
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import SQLModel

from engine.models import TEST_CHANNELS, Conversation, Feedback, Message, Role
from engine.outcomes import Episode
from handoff.models import Agent, HandoffRecord
from kb.suggestion_models import FaqSuggestion

REQUEUED = frozenset({"put_back", "agent_offline"})  # a handoff going on, not a new one
REPLIES = (Role.BOT, Role.AGENT)
QUARTER_HOUR = 900  # seconds: every time zone's offset is a multiple of it (today's zones)
CHUNK = 5000  # ids per `IN (...)`


@contextmanager
def reading(db: Database) -> Iterator[Connection]:
    """A connection for the report's reads."""
    with db.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Group a month's conversations in memory, not in batches on disk; the queries are
            # short enough that compiling them (JIT) costs more than it saves.
            connection.exec_driver_sql("SET LOCAL work_mem = '32MB'")
            connection.exec_driver_sql("SET LOCAL jit = off")
        yield connection


def read(db: Database, query: Any) -> Sequence[Any]:
    with reading(db) as connection:
        return connection.execute(query).all()


class epoch(FunctionElement[float]):  # noqa: N801 (an SQL function, named as one)
    """Seconds since 1970 (UTC) of a stored moment, on either database."""

    type = Float()
    name = "epoch"
    inherit_cache = True


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part gives a double; EXTRACT gives a numeric, several times slower to compute with.
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as UTC text; julianday counts days from 4714 BC, 2440587.5 of them to 1970.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def _table(model: type[SQLModel]) -> Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


_CONVERSATIONS, _MESSAGES = _table(Conversation), _table(Message)
_AGENTS, _SUGGESTIONS = _table(Agent), _table(FaqSuggestion)


@dataclass(frozen=True)
class Where:
    """The rows a report counts: from `since` (included) to `until` (excluded), on `channels`
    (every one when empty; the test channels only when named or `include_test`)."""

    since: datetime
    until: datetime
    channels: tuple[str, ...]
    include_test: bool

    def channel(self) -> ColumnElement[bool]:
        column = _CONVERSATIONS.c.channel
        if self.channels:
            return column.in_(self.channels)
        if self.include_test:
            return column.is_not(None)
        return not_(column.in_(sorted(TEST_CHANNELS)))

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.since, column < self.until)


_conversation = _CONVERSATIONS.c
_message = _MESSAGES.c
_handoff = _table(HandoffRecord).c
_episode = _table(Episode).c
_feedback = _table(Feedback).c


def first_responses(where: Where) -> Any:
    """Per conversation: when its first customer message in the period was written, when the
    first reply after it was (None: not yet) and whether it was handed to people in the period.

    One grouped pass that ix_message_report serves alone finds, per conversation, the first
    question in the period and the first reply since the period began. That reply is the one
    after the question unless it answered something asked before the period; only then, and
    for conversations with no reply, is the reply after the question looked up by itself."""
    customer = _message.role == Role.CUSTOMER
    since = _message.created_at >= where.since
    firsts = (
        select(
            _message.conversation_id,
            func.min(case((customer & (_message.created_at < where.until),
                           _message.created_at))).label("asked"),
            func.min(case((_message.role.in_(REPLIES), _message.created_at))).label("replied"),
        )
        .where(_message.role.in_((Role.CUSTOMER, *REPLIES)), since)
        .group_by(_message.conversation_id)
        .subquery("firsts")
    )  # fmt: skip
    later = aliased(_MESSAGES)
    after_question = (
        select(func.min(later.c.created_at))
        .where(
            later.c.conversation_id == firsts.c.conversation_id,
            # lower(): not an indexed column, so that this look-up goes by the conversation
            # (SQLite without statistics would scan every reply in ix_message_report instead).
            func.lower(later.c.role).in_([role.value for role in REPLIES]),
            later.c.created_at >= firsts.c.asked,
        )
        .scalar_subquery()
    )
    # >=: the engine stores a turn's messages at one moment, the bot's reply with the question.
    reply = case((firsts.c.replied >= firsts.c.asked, firsts.c.replied), else_=after_question)
    handed = (
        select(_handoff.conversation_id)
        .where(where.within(_handoff.requested_at), _handoff.reason.not_in(sorted(REQUEUED)))
        .distinct()
        .subquery("handed")
    )
    return (
        select(
            firsts.c.asked,
            reply.label("reply"),
            case((handed.c.conversation_id.is_(None), 0), else_=1).label("handed"),
        )
        .join(_CONVERSATIONS, _conversation.id == firsts.c.conversation_id)
        .outerjoin(handed, handed.c.conversation_id == firsts.c.conversation_id)
        .where(firsts.c.asked.is_not(None), where.channel())
    )


def conversation_counts(where: Where) -> Any:
    """`first_responses` counted (one row per conversation would cost more to send than to
    count): conversations by the quarter hour of their first question, by the milliseconds
    to their first reply (None: none yet), and by whether they were handed to people; rows of
    (kind, value, conversations)."""
    per = first_responses(where).cte("per_conversation")
    asked_ms = cast(func.round(epoch(per.c.asked) * 1000), BigInteger)
    quarter = asked_ms // (QUARTER_HOUR * 1000)
    reply_ms = cast(func.round((epoch(per.c.reply) - epoch(per.c.asked)) * 1000), BigInteger)
    return union_all(*(
        select(literal(kind), value.label("value"), func.count()).group_by(value)
        for kind, value in (("quarter", quarter), ("reply_ms", reply_ms),
                            ("handed", per.c.handed))
    ))  # fmt: skip


class HandoffTimes(NamedTuple):
    """One handoff record as the report reads it; moments in seconds since 1970."""

    conversation_id: int
    reason: str
    agent_id: int | None
    requested: float
    claimed: float | None
    closed: float | None
    replied: float | None  # the agent's first reply


def handoff_times(connection: Connection, where: Where) -> list[HandoffTimes]:
    """Handoff records requested in the period."""
    query = (
        select(
            _handoff.conversation_id,
            _handoff.reason,
            _handoff.agent_id,
            epoch(_handoff.requested_at),
            epoch(_handoff.claimed_at),
            epoch(_handoff.closed_at),
            epoch(_handoff.first_reply_at),
        )
        .join(_CONVERSATIONS, _conversation.id == _handoff.conversation_id)
        .where(where.within(_handoff.requested_at), where.channel())
    )
    return [HandoffTimes(*row) for row in connection.execute(query)]


def episode_counts(where: Where) -> Any:
    """Episodes ended in the period, counted by outcome, rating and who ended them."""
    return (
        select(_episode.outcome, _episode.satisfaction, _episode.ended_by, func.count())
        .join(_CONVERSATIONS, _conversation.id == _episode.conversation_id)
        .where(where.within(_episode.ended_at), where.channel())
        .group_by(_episode.outcome, _episode.satisfaction, _episode.ended_by)
    )


def thumb_counts(where: Where) -> Any:
    """Thumbs up and down on the bot's answers written in the period."""
    return (
        select(_feedback.rating, func.count())
        .join(_MESSAGES, _message.id == _feedback.message_id)
        .join(_CONVERSATIONS, _conversation.id == _message.conversation_id)
        .where(_message.role == Role.BOT, where.within(_message.created_at), where.channel())
        .group_by(_feedback.rating)
    )


def suggestion_sources(connection: Connection) -> Sequence[Any]:
    """Every suggestion's id, question, status and the messages it was learned from."""
    suggestions = _SUGGESTIONS.c
    return connection.execute(
        select(suggestions.id, suggestions.question, suggestions.status,
               suggestions.source_message_ids)
    ).all()  # fmt: skip


def questions_asked(connection: Connection, where: Where, ids: list[int]) -> list[int]:
    """Of the messages `ids`, the customers' written in the period on the channels asked for."""
    asked: dict[int, int] = {}  # message id -> conversation id
    for chunk in _chunks(ids):
        query = select(_message.id, _message.conversation_id).where(
            _among("message.id", chunk),
            _message.role == Role.CUSTOMER,
            where.within(_message.created_at),
        )
        asked.update(connection.execute(query).tuples().all())
    shown: set[int] = set()  # the conversations among them on the channels asked for
    for chunk in _chunks(sorted(set(asked.values()))):
        on_channel = select(_conversation.id).where(
            _among("conversation.id", chunk), where.channel()
        )
        shown.update(connection.execute(on_channel).scalars())
    return [message for message, conversation in asked.items() if conversation in shown]


def agent_names(connection: Connection, ids: list[int]) -> dict[int, str]:
    agents = _AGENTS.c
    query = select(agents.id, agents.display_name).where(agents.id.in_(ids))
    return dict(connection.execute(query).tuples().all()) if ids else {}


def _among(column: str, ids: list[int]) -> TextClause:
    """`column IN (1, 2, ...)` written out: binding thousands of parameters (or rendering them
    one by one) costs more than the look-up takes; `int` keeps it to numbers."""
    return text(f"{column} IN ({', '.join(str(int(i)) for i in ids)})")


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    """A database takes only so many parameters in one statement (SQLite 32766)."""
    return (ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK))
