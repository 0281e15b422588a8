"""FAQ entries learned from agents: what a person answered when the bot could not, proposed to
a trainer, who edits and accepts (or rejects) it.

    agent replies -> pairs (question, answer) -> personal details out -> embed -> clusters
        -> already answered by the FAQ (stored as `covered`)? -> new or grown pending suggestions

A pair is a customer's question (the messages an agent reply answers, `answers` in the reply's
understanding) and the agent's answer (that reply and the ones after it in the same handoff
that answer nothing new, minus "let me check"). It counts when the agent wrote or edited the
answer (not when they sent the bot's draft as it was), the handoff was resolved, and the bot
could not answer: the handoff's reason says so, or the customer asked for a person after the
bot was unsure, out of its depth or had no record to answer from.

Questions are grouped by average-linkage agglomerative clustering on cosine distance. Average
linkage keeps a group together only while its wordings are close on average, where single
linkage chains "delivery time to Belgium" through "... to France" into one group and a greedy
pass depends on the order messages come in. `CLUSTER_DISTANCE` was chosen on the demo FAQ's 490
wordings of 98 questions, where it gave the best adjusted Rand index (0.39; single linkage got
under 0.13 at any threshold). Grouping is by question alone: the FAQ index matches customers'
questions to an entry's question and alternates, so this groups what the bot will match.

Personal details never reach a suggestion: emails, order ids, tracking numbers, phone numbers,
bank accounts and links with tokens become generic words, and the names this conversation
knows (the customer's, their orders', the agents') and salutations ("Hi Anna,") go.

Errors (one line each, for the CLI and the console):

    SuggestionError           nothing was changed
    ├── UnknownSuggestionError   no suggestion with that id
    ├── DecidedError             it was accepted or rejected already
    └── EntryError               the FAQ entry would be invalid (too short, key taken...)
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from pydantic import ValidationError
from sqlalchemy import Engine as Database
from sqlalchemy import tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from engine.clock import utcnow
from engine.intent_data import FAILED_INTENTS
from engine.models import Conversation, Customer, Message, Role
from engine.types import UNANSWERED
from handoff.models import Agent, HandoffRecord
from kb.embeddings import Vectors
from kb.models import FaqEntry, Order
from kb.records import FaqRecord, content_hash
from kb.suggestion_models import FaqSuggestion
from kb.vector_index import VectorIndex
from learning.redaction import ORDER_DIGITS, answer_text, question_text

CLUSTER_DISTANCE = 0.45  # average cosine distance under which questions are one question
COVERED_FROM = 0.85  # cosine to an FAQ question (or alternate) at which it is answered already
MIN_ANSWER_CHARS = 20
MAX_ALTERNATES = 5
CHUNK = 500  # ids per `IN (...)`

NOT_QUESTIONS = frozenset({"smalltalk", "contact_human_agent"})
OWN_ANSWERS = frozenset({"own", "edited"})  # not "sent": the bot's draft as it was
SKIPS = {
    "used": "already in a suggestion",
    "not_resolved": "handoff not resolved",
    "bot_could_answer": "handed off although the bot had an answer",
    "draft_sent": "the bot's draft sent as it was",
    "no_question": "greetings or thanks only",
    "short_answer": f"answer under {MIN_ANSWER_CHARS} characters",
    "rejected_before": "like a rejected suggestion",
}


K = TypeVar("K")
R = TypeVar("R")


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors: ...


class SuggestionError(Exception):
    """A suggestion cannot be decided on; the message says why in one line."""


class UnknownSuggestionError(SuggestionError):
    def __init__(self, suggestion_id: int) -> None:
        super().__init__(f"there is no suggestion {suggestion_id}")
        self.suggestion_id = suggestion_id


class DecidedError(SuggestionError):
    def __init__(self, suggestion_id: int, status: str) -> None:
        super().__init__(f"suggestion {suggestion_id} was {status} already")
        self.suggestion_id = suggestion_id
        self.status = status


class EntryError(SuggestionError):
    """The FAQ entry the trainer asked for would be invalid."""


# -- pairs from the database -------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One customer question and an agent's answer to it, personal details removed."""

    question: str
    answer: str
    message_ids: tuple[int, ...]  # the customer's messages and the agent's replies
    reply_id: int  # the agent's first reply: later means more recent


@dataclass
class SuggestReport:
    """What one `suggest` run did."""

    pairs: int = 0  # answered questions it could learn from
    created: list[int] = field(default_factory=list)  # new suggestion ids
    refreshed: list[int] = field(default_factory=list)  # pending ones that grew
    covered: list[tuple[str, str, float]] = field(default_factory=list)  # question, key, cosine
    skipped: Counter[str] = field(default_factory=Counter)  # reason (SKIPS) -> replies

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {SKIPS[r]}" for r, n in sorted(self.skipped.items()))
        return (
            f"{self.pairs} answered questions: {len(self.created)} new suggestions, "
            f"{len(self.refreshed)} refreshed, {len(self.covered)} already covered by the FAQ"
            + (f"; skipped: {skipped}" if skipped else "")
        )


def answered_pairs(
    db: Database, since: datetime | None = None, report: SuggestReport | None = None
) -> list[Pair]:
    """The pairs to learn from among agent replies since `since`, not in a suggestion yet;
    `report` counts the replies skipped, by reason."""
    report = report if report is not None else SuggestReport()
    with Session(db) as session:
        used = {i for ids in session.exec(select(FaqSuggestion.source_message_ids)) for i in ids}
        query = select(Message).where(Message.role == Role.AGENT)
        if since is not None:
            query = query.where(col(Message.created_at) >= since)
        groups = _reply_groups(session.exec(query.order_by(col(Message.id))).all())
        asked = _customer_messages(session, [i for g in groups for i in _answers(g[0])])
        handoff_ids = [h for g in groups if (h := g[0].understood.handoff_id) is not None]
        handoffs = {h.id: h for h in _rows(session, _handoffs, handoff_ids)}
        bot = _bot_replies(session, asked.values())
        names = _names(session, [m for g in groups for m in g] + list(asked.values()))
    pairs = []
    for group in groups:
        first = group[0]
        questions = [asked[i] for i in _answers(first) if i in asked]
        outcome: Pair | str | None = None
        if any(m.id in used for m in (*group, *questions)):
            outcome = "used"
        else:
            handoff = handoffs.get(first.understood.handoff_id)
            outcome = _why_not(group, questions, handoff, bot)
        if outcome is None:
            outcome = _pair(group, questions, names[first.conversation_id])
        if isinstance(outcome, Pair):
            pairs.append(outcome)
        else:
            report.skipped[outcome] += 1
    report.pairs = len(pairs)
    return pairs


def _answers(reply: Message) -> list[int]:
    return reply.understood.answers


def _reply_groups(replies: Sequence[Message]) -> list[list[Message]]:
    """Each reply that answers customer messages, with the replies after it in the same handoff
    that answer nothing new (the rest of the same answer)."""
    groups: list[list[Message]] = []
    last: dict[tuple[int, Any], list[Message]] = {}  # (conversation, handoff) -> its last group
    for reply in replies:
        where = (reply.conversation_id, reply.understood.handoff_id)
        if where[1] is None:
            continue
        if _answers(reply):
            last[where] = [reply]
            groups.append(last[where])
        elif where in last:
            last[where].append(reply)
    return groups


def _why_not(
    group: Sequence[Message],
    questions: Sequence[Message],
    handoff: HandoffRecord | None,
    bot: dict[tuple[int, int], Message],
) -> str | None:
    """Why this reply is nothing to learn from; None when it is."""
    if handoff is None or handoff.outcome != "resolved":
        return "not_resolved"
    if not any(r.understood.draft_use in OWN_ANSWERS for r in group):
        return "draft_sent"
    if handoff.reason in UNANSWERED:
        return None
    failed = handoff.reason == "customer_asked" and any(_bot_failed(m, bot) for m in questions)
    return None if failed else "bot_could_answer"


def _bot_failed(message: Message, bot: dict[tuple[int, int], Message]) -> bool:
    """The bot was unsure or out of scope, or had no record to answer this message from."""
    if message.intent in FAILED_INTENTS:
        return True
    draft = message.understood.draft
    if isinstance(draft, dict):  # it was handed off or forwarded: what the bot would have said
        return not draft.get("sources")
    reply = bot.get((message.conversation_id, message.seq + 1))
    return reply is None or reply.decision != "reply" or not reply.sources


def _pair(group: Sequence[Message], questions: Sequence[Message], names: set[str]) -> Pair | str:
    question = question_text([m.text for m in questions if m.intent not in NOT_QUESTIONS], names)
    if len(question.split()) < 2:
        return "no_question"
    answer = answer_text([r.text for r in group], names)
    if len(answer) < MIN_ANSWER_CHARS:
        return "short_answer"
    ids = sorted(m.id for m in (*questions, *group) if m.id is not None)
    return Pair(question, answer, tuple(ids), group[0].id or 0)


def _rows(
    session: Session, query: Callable[[list[K]], SelectOfScalar[R]], keys: Iterable[K]
) -> list[R]:
    """What `query` selects for `keys`, a chunk at a time: a database takes only so many
    parameters in one statement (SQLite 32766, PostgreSQL 65535)."""
    unique = list(dict.fromkeys(keys))
    chunks = [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]
    return [row for chunk in chunks for row in session.exec(query(chunk))]


def _handoffs(ids: list[int]) -> SelectOfScalar[HandoffRecord]:
    return select(HandoffRecord).where(col(HandoffRecord.id).in_(ids))


def _customer_messages(session: Session, ids: Iterable[int]) -> dict[int, Message]:
    def query(chunk: list[int]) -> SelectOfScalar[Message]:
        return select(Message).where(col(Message.id).in_(chunk), Message.role == Role.CUSTOMER)

    return {m.id: m for m in _rows(session, query, ids) if m.id is not None}


def _bot_replies(session: Session, asked: Iterable[Message]) -> dict[tuple[int, int], Message]:
    """The message after each customer message, where the bot's reply to it would be."""

    def query(chunk: list[tuple[int, int]]) -> SelectOfScalar[Message]:
        where = tuple_(col(Message.conversation_id), col(Message.seq)).in_(chunk)
        return select(Message).where(where, Message.role == Role.BOT)

    after = [(m.conversation_id, m.seq + 1) for m in asked]
    return {(m.conversation_id, m.seq): m for m in _rows(session, query, after)}


def _names(session: Session, messages: Sequence[Message]) -> dict[int, set[str]]:
    """Per conversation, the names its messages must not pass on: the customer's (as the
    conversation, the customer record and the orders it names know them) and every agent's."""
    agents = {a.display_name for a in session.exec(select(Agent))}
    names: dict[int, set[str]] = defaultdict(lambda: set(agents))
    cids = {m.conversation_id for m in messages}
    owners: dict[str, set[int]] = defaultdict(set)  # email or order id -> conversations
    customers: dict[int, set[int]] = defaultdict(set)
    conversations = _rows(
        session, lambda ids: select(Conversation).where(col(Conversation.id).in_(ids)), cids
    )
    for c in conversations:
        names[c.id or 0].add(c.customer_name or "")
        for email in filter(None, [c.identified_email(), *c.given_emails()]):
            owners[email.lower()].add(c.id or 0)
        if c.customer_id is not None:
            customers[c.customer_id].add(c.id or 0)
    for m in messages:
        for digits in ORDER_DIGITS.findall(m.text):
            owners[f"HP-{digits}"].add(m.conversation_id)
    for customer in _rows(
        session, lambda ids: select(Customer).where(col(Customer.id).in_(ids)), customers
    ):
        for cid in customers[customer.id or 0]:
            names[cid].add(customer.name or "")
    orders = _rows(
        session,
        lambda keys: select(Order).where(
            col(Order.customer_email).in_(keys) | col(Order.order_id).in_(keys)
        ),
        owners,
    )
    for order in orders:
        by_email, by_id = owners.get(order.customer_email.lower()), owners.get(order.order_id)
        for cid in (by_email or set()) | (by_id or set()):
            names[cid].add(order.customer_name)
    return names


# -- clusters and suggestions ------------------------------------------------------------------


@dataclass(frozen=True)
class _Cluster:
    pairs: list[Pair]
    vectors: Vectors  # one per pair's question, normalised

    @property
    def by_centrality(self) -> list[int]:
        """Row numbers, the wording closest on average to the others first."""
        closeness = (self.vectors @ self.vectors.T).mean(axis=1)
        return [int(i) for i in np.argsort(-closeness, kind="stable")]

    @property
    def central(self) -> int:
        return self.by_centrality[0]

    @property
    def latest(self) -> Pair:
        return max(self.pairs, key=lambda p: p.reply_id)

    def wordings(self) -> list[str]:
        """The questions, the most central first."""
        return [self.pairs[i].question for i in self.by_centrality]


def cluster(vectors: Vectors, distance: float = CLUSTER_DISTANCE) -> list[list[int]]:
    """Groups of row numbers whose vectors lie within `distance` (average cosine distance)."""
    if len(vectors) < 2:
        return [[i] for i in range(len(vectors))]
    from sklearn.cluster import AgglomerativeClustering  # half a second: only when clustering

    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    ).fit_predict(vectors)
    groups: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        groups[int(label)].append(row)
    return list(groups.values())


def suggest(
    db: Database, encoder: Encoder, index_dir: Path, since: datetime | None = None
) -> SuggestReport:
    """Propose FAQ entries from what agents answered since `since` (all time by default): new
    pending suggestions, or more wordings for a pending one about the same question.

    A question the FAQ answers already (by the saved index in `index_dir`, as the bot searches
    it) is stored as `covered`, naming the entry: a wording that entry could take as an
    alternate. Messages in a suggestion are never used again: running it twice changes nothing.
    """
    report = SuggestReport()
    pairs = answered_pairs(db, since, report)
    if not pairs:
        return report
    vectors = encoder.encode([p.question for p in pairs])
    clusters = [_Cluster([pairs[i] for i in rows], vectors[rows]) for rows in cluster(vectors)]
    faq_index = VectorIndex.load(index_dir, "faq")
    with Session(db) as session:
        faq_keys = {f.id: f.key for f in session.exec(select(FaqEntry)) if f.id is not None}
        undecided = col(FaqSuggestion.status).in_(["pending", "rejected"])
        known = list(session.exec(select(FaqSuggestion).where(undecided)))
        known_texts = [[s.question, *s.alternates] for s in known]
        flat = encoder.encode([text for texts in known_texts for text in texts])
        ends = np.cumsum([len(texts) for texts in known_texts])
        known_vectors = np.split(flat, ends[:-1]) if known else []
        for group in clusters:
            covering = _covering(faq_index, faq_keys, group.vectors[group.central])
            match = None if covering else _like(group, known, known_vectors)
            if covering is not None:
                suggestion = _new(group, status="covered", faq_key=covering[0])
                session.add(suggestion)
                report.covered.append((suggestion.question, *covering))
            elif match is not None and match.status == "rejected":
                report.skipped["rejected_before"] += len(group.pairs)
            elif match is not None:
                _grow(match, group)
                session.add(match)
                report.refreshed.append(match.id or 0)
            else:
                suggestion = _new(group)
                session.add(suggestion)
                session.flush()
                report.created.append(suggestion.id or 0)
        session.commit()
    return report


def _covering(
    index: VectorIndex, keys: dict[int, str], vector: Vectors
) -> tuple[str, float] | None:
    """The FAQ entry whose question (or alternate) is this close to `vector`, if any."""
    for record_id, cosine in index.search(vector, 5):
        if record_id in keys:  # not an entry deleted since the index was built
            return (keys[record_id], round(cosine, 3)) if cosine >= COVERED_FROM else None
    return None


def _like(
    group: _Cluster, suggestions: Sequence[FaqSuggestion], vectors: Sequence[Vectors]
) -> FaqSuggestion | None:
    """The pending or rejected suggestion this group would have joined had they been clustered
    together (average cosine distance under the threshold), the closest if several."""
    best, best_distance = None, CLUSTER_DISTANCE
    for suggestion, theirs in zip(suggestions, vectors, strict=True):
        distance = 1.0 - float((group.vectors @ theirs.T).mean())
        if distance < best_distance:
            best, best_distance = suggestion, distance
    return best


def _new(group: _Cluster, status: str = "pending", faq_key: str | None = None) -> FaqSuggestion:
    question, *alternates = _distinct(group.wordings())
    ids = sorted({i for p in group.pairs for i in p.message_ids})
    decided = None if status == "pending" else utcnow()
    return FaqSuggestion(
        question=question,
        alternates=alternates[:MAX_ALTERNATES],
        answer=group.latest.answer,
        source_message_ids=ids,
        status=status,
        cluster_size=len(group.pairs),
        faq_key=faq_key,
        decided_at=decided,
        decided_by=None if decided is None else "suggest",
    )


def _grow(suggestion: FaqSuggestion, group: _Cluster) -> None:
    wordings = _distinct([suggestion.question, *suggestion.alternates, *group.wordings()])
    suggestion.alternates = wordings[1 : MAX_ALTERNATES + 1]
    if group.latest.reply_id > max(suggestion.source_message_ids, default=0):
        suggestion.answer = group.latest.answer
    ids = {i for p in group.pairs for i in p.message_ids}
    suggestion.source_message_ids = sorted(ids.union(suggestion.source_message_ids))
    suggestion.cluster_size += len(group.pairs)


def _distinct(wordings: Iterable[str]) -> list[str]:
    """The wordings in order, once each (case, spaces and punctuation aside)."""
    seen: dict[str, str] = {}
    for wording in wordings:
        seen.setdefault(re.sub(r"[\W_]+", " ", wording.lower()).strip(), wording)
    return list(seen.values())


# -- decisions ---------------------------------------------------------------------------------


def pending(db: Database) -> list[FaqSuggestion]:
    """The suggestions waiting for a decision, the most asked first."""
    with Session(db) as session:
        query = select(FaqSuggestion).where(FaqSuggestion.status == "pending")
        order = (col(FaqSuggestion.cluster_size).desc(), col(FaqSuggestion.id))
        return list(session.exec(query.order_by(*order)).all())


def find(db: Database, suggestion_id: int) -> FaqSuggestion:
    with Session(db) as session:
        suggestion = session.get(FaqSuggestion, suggestion_id)
        if suggestion is None:
            raise UnknownSuggestionError(suggestion_id)
        return suggestion


def accept(
    db: Database,
    suggestion_id: int,
    *,
    question: str | None = None,
    answer: str | None = None,
    alternates: Sequence[str] | None = None,
    key: str | None = None,
    topic: str = "",
    by: str = "cli",
) -> FaqEntry:
    """Add the suggestion to the FAQ as it is or as the trainer edited it (a rewritten question
    keeps the customers' wording as an alternate); the suggestion keeps what was proposed and
    names the entry. The search indexes need `build_indexes` afterwards."""
    with Session(db, expire_on_commit=False) as session:
        suggestion = _undecided(session, suggestion_id)
        if alternates is None:
            alternates = default_alternates(suggestion, question)
        record = _record(
            suggestion.question if question is None else question,
            suggestion.answer if answer is None else answer,
            alternates,
            key,
            topic,
        )
        entry = FaqEntry(
            key=_free_key(session, record, explicit=key is not None),
            question=record.question,
            alternates=record.alternates,
            answer=record.answer,
            topic=record.topic,
        )
        entry.content_hash = content_hash(entry.search_text())
        _decide(session, suggestion, "accepted", by, faq_key=entry.key)
        session.add(entry)
        try:
            session.commit()
        except IntegrityError as exc:  # the same key, added by someone else meanwhile
            raise EntryError(f"the FAQ already has an entry {entry.key!r}") from exc
        return entry


def default_alternates(suggestion: FaqSuggestion, question: str | None) -> list[str]:
    """The suggested alternates, and the customers' wording too when the trainer rewrote it."""
    if question is None or question == suggestion.question:
        return list(suggestion.alternates)
    return [suggestion.question, *suggestion.alternates]


def reject(db: Database, suggestion_id: int, *, by: str = "cli") -> FaqSuggestion:
    with Session(db, expire_on_commit=False) as session:
        suggestion = _undecided(session, suggestion_id)
        _decide(session, suggestion, "rejected", by)
        session.commit()
        return suggestion


def _undecided(session: Session, suggestion_id: int) -> FaqSuggestion:
    suggestion = session.get(FaqSuggestion, suggestion_id)
    if suggestion is None:
        raise UnknownSuggestionError(suggestion_id)
    if suggestion.status != "pending":
        raise DecidedError(suggestion_id, suggestion.status)
    return suggestion


def _decide(
    session: Session, suggestion: FaqSuggestion, status: str, by: str, faq_key: str | None = None
) -> None:
    """Mark it decided unless someone else did first (a conditional update, not a read)."""
    now = utcnow()
    decided = session.execute(
        update(FaqSuggestion)
        .where(col(FaqSuggestion.id) == suggestion.id, col(FaqSuggestion.status) == "pending")
        .values(status=status, decided_at=now, decided_by=by[:64], faq_key=faq_key)
    )
    if getattr(decided, "rowcount", 0) != 1:
        session.rollback()
        raise DecidedError(suggestion.id or 0, "decided")
    suggestion.status, suggestion.decided_at = status, now
    suggestion.decided_by, suggestion.faq_key = by[:64], faq_key


def _record(
    question: str, answer: str, alternates: Sequence[str], key: str | None, topic: str
) -> FaqRecord:
    """The entry checked as an FAQ file's row is (`kb.records.FaqRecord`)."""
    try:
        record = FaqRecord(
            id=key or None,
            question=question,
            answer=answer,
            topic=topic,
            alternates=[a for a in alternates if a.strip()],
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise EntryError(problems) from exc
    record.alternates = _distinct(a.strip() for a in record.alternates)
    return record


def _free_key(session: Session, record: FaqRecord, *, explicit: bool) -> str:
    """The entry's key: the one asked for, or a slug of the question not yet taken."""
    base = record.key()
    taken = set(session.exec(select(FaqEntry.key).where(col(FaqEntry.key).startswith(base))))
    if explicit and base in taken:
        raise EntryError(f"the FAQ already has an entry {base!r}")
    number, key = 1, base
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key
