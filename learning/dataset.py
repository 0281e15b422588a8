"""The fine-tuning dataset: the dialogs that went well, as the examples a model learns from.

`shopclerk dataset export` reads the conversations and writes, for `shopclerk finetune` and for
other trainers:

- `train.jsonl`, `validation.jsonl`: OpenAI's chat format, one `{"messages": [...]}` a line;
- `train.plain.jsonl`, `validation.plain.jsonl`: the same examples as plain records;
- `summary.json`: what was taken, from where, and what was dropped by which filter.

An example's prompt is exactly the one the model is given in production
(`engine.generators.prompt.messages` over the customer message's stored documents and the 30
messages before it, as `ConversationStore.answered` hands them to the desk); its target is an
answer that helped:

- `bot`: a bot reply in an episode the bot resolved (no thumbs down on it);
- `agent`: a person's reply, for the customer messages it answers (what the bot could not do);
- `retried`: the customer tried again and a later answer helped; it is the target for the
  attempt that failed.

Personal data is replaced by placeholders in every message but the system prompt; order ids,
prices, dates and tracking numbers stay, since the model must learn to copy them, and so does
the store's own vocabulary (product names, brands, SKUs, the FAQ's phone number: `StoreWords`).
Duplicates go, and the split keeps each conversation on one side, so validation never sees a
training dialog.

Choices a trainer should know:
- A customer message stored without its documents (from before they were kept) gives no
  example, counted as "no documents": its prompt cannot be rebuilt, and an answer trained
  against no sources teaches the model to state facts it was not given.
- The episode's outcome is the evidence an answer helped, so an example waits for its episode
  to end; `include_open` also takes thumbed-up bot replies of conversations still going (the
  customer's own word, which no later outcome takes back).
- An answer stating a fact (price, date, order id...) that its sources lack is counted, and
  dropped with `grounded_only`: in production the same check would throw that answer away.
- A failed bot reply that a retried example replaces is not a target itself ("superseded").
- A target saying something was done (cancelled, refunded, changed, sent) that its order record
  does not state is dropped ("claims an action"): an agent acts, the model cannot, and a model
  taught such replies would claim actions that never happened.

Errors:

    ExportError             what the trainer is told, in one line
    └── NothingToExportError  no example is left (carries the summary: which filter took what)
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, utils
from sqlalchemy import Engine as Database
from sqlmodel import Session, col, select

from engine.clock import aware
from engine.generators import claims
from engine.generators.facts import check
from engine.generators.prompt import Document, Said, messages
from engine.intent_data import FAILED_INTENTS, NOT_A_TOPIC
from engine.models import Conversation, Customer, Feedback, Message, Role
from engine.outcomes import Episode
from engine.store import HISTORY
from engine.types import UNANSWERED
from handoff.models import Agent
from kb.models import FaqEntry, Order, Product
from learning.privacy import PLACEHOLDERS, StoreWords, record_numbers, scrub


class Source(StrEnum):
    """Where an example's target comes from."""

    BOT = "bot"
    AGENT = "agent"
    RETRIED = "retried"


DEFAULT_OUTCOMES = frozenset({"bot_resolved", "agent_resolved"})
SIMILAR_FROM = 60  # rapidfuzz token_set_ratio: "do u ship 2 belgium" ~ "Do you ship to Belgium?"
CONVERSATIONS_AT_ONCE = 500  # read in slices: a big store's messages never all in memory
# The filters in the order they are applied: a dropped example is counted under the first.
FILTERS = ("source", "channel", "date", "not ended", "outcome", "thumbs down",
           "not thumbed up", "satisfaction", "no documents", "superseded",
           "facts not in sources", "claims an action", "duplicate")  # fmt: skip
ROLES = frozenset({"system", "user", "assistant"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})  # what OpenAI's format allows
SPLITS = ("train", "validation")


class ExportError(Exception):
    """The export cannot go on; the message says why in one line."""


class NothingToExportError(ExportError):
    """No example is left after the filters."""

    def __init__(self, summary: Summary) -> None:
        super().__init__(summary.why_empty())
        self.summary = summary


# -- what to take ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which answers become examples. Empty `channels` means every channel."""

    outcomes: frozenset[str] = DEFAULT_OUTCOMES
    sources: frozenset[Source] = frozenset(Source)
    feedback: Literal["any", "up"] = "any"  # up: bot replies only if rated up (down: never)
    min_satisfaction: int | None = None
    channels: frozenset[str] = frozenset()
    since: date | None = None
    until: date | None = None  # inclusive
    timezone: tzinfo = UTC  # the store's: what day a message was written
    include_open: bool = False  # thumbed-up bot replies in episodes not ended yet
    grounded_only: bool = False  # drop targets stating facts their sources do not have

    def outcomes_for(self, source: Source) -> frozenset[str]:
        """A bot reply is evidence only where the bot resolved the episode: one a person had to
        finish, or the customer left, says nothing good about the bot's replies in it."""
        return self.outcomes & {"bot_resolved"} if source is Source.BOT else self.outcomes

    def within(self, moment: datetime) -> bool:
        day = aware(moment).astimezone(self.timezone).date()
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )


# -- the chat format ---------------------------------------------------------------------------


def validate_chat_line(obj: object) -> None:
    """Raise ValueError unless `obj` is one example in OpenAI's chat fine-tuning format: a
    system message first (if any), user and assistant messages with string content, at least
    one user message, and the assistant's target last."""
    if not isinstance(obj, dict) or set(obj) != {"messages"}:
        raise ValueError('an example is an object with one key, "messages"')
    chat = obj["messages"]
    if not isinstance(chat, list) or not chat:
        raise ValueError('"messages" is not a non-empty list')
    for index, message in enumerate(chat, 1):
        if not isinstance(message, dict) or not {"role", "content"} <= set(message) <= MESSAGE_KEYS:
            raise ValueError(f'message {index}: not an object of "role" and "content"')
        if message["role"] not in ROLES:
            raise ValueError(
                f"message {index}: role {message['role']!r} is not system, user or assistant"
            )
        if not isinstance(message["content"], str):
            raise ValueError(f'message {index}: "content" is not a string')
        if message["role"] == "system" and index != 1:
            raise ValueError(f"message {index}: a system message may only come first")
    if not any(m["role"] == "user" for m in chat):
        raise ValueError("no user message")
    if chat[-1]["role"] != "assistant" or not chat[-1]["content"].strip():
        raise ValueError("the last message is not the assistant's (non-empty) target")


# -- examples ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One prompt and its target, personal data replaced."""

    id: str
    source: Source
    intent: str | None
    channel: str
    conversation_id: int
    context: tuple[Said, ...]  # the messages before the question (system ones left out)
    documents: tuple[Document, ...]
    question: str
    answer: str
    outcome: str | None
    feedback: str | None
    satisfaction: int | None
    created_at: datetime
    generation: dict[str, Any] | None = None  # how a bot reply was written (the openai one)
    scrubbed: Counter[str] = field(default_factory=Counter, compare=False)

    def chat(self) -> dict[str, list[dict[str, str]]]:
        """The inference prompt, then the target."""
        prompt = messages(self.documents, self.context, self.question)
        return {"messages": [*prompt, {"role": "assistant", "content": self.answer}]}

    def plain(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source.value,
            "intent": self.intent,
            "channel": self.channel,
            "conversation_id": self.conversation_id,
            "context": [{"role": s.role, "text": s.text} for s in self.context],
            "sources": [d.as_dict() for d in self.documents],
            "question": self.question,
            "answer": self.answer,
            "outcome": self.outcome,
            "feedback": self.feedback,
            "satisfaction": self.satisfaction,
            "created_at": aware(self.created_at).isoformat(),
            "generation": self.generation,
        }

    def key(self) -> str:
        """Prompt and target, whitespace and case aside: equal keys are duplicates."""
        return " ".join(json.dumps(self.chat(), ensure_ascii=False).split()).casefold()


@dataclass
class _Dialog:
    """One conversation and everything its examples need."""

    conversation: Conversation
    messages: list[Message]  # in seq order
    episodes: list[Episode]
    ratings: dict[int, str]  # bot message id -> up | down
    names: tuple[str, ...]  # the people it may name
    by_seq: dict[int, Message] = field(init=False)
    by_id: dict[int, Message] = field(init=False)

    def __post_init__(self) -> None:
        self.by_seq = {m.seq: m for m in self.messages}
        self.by_id = {m.id: m for m in self.messages if m.id is not None}

    def episode(self, seq: int) -> Episode | None:
        return next((e for e in self.episodes if e.first_seq <= seq <= e.last_seq), None)

    def reply_to(self, customer: Message) -> Message | None:
        reply = self.by_seq.get(customer.seq + 1)
        return reply if reply is not None and reply.role == Role.BOT else None

    def before(self, seq: int) -> list[Message]:
        return [m for m in self.messages if m.seq < seq][-HISTORY:]


@dataclass(frozen=True)
class _Candidate:
    """An answer that may become an example, before the filters."""

    source: Source
    dialog: _Dialog
    asked: tuple[Message, ...]  # the customer messages it answers, in order
    answer: Message
    intent: str | None

    @property
    def episode(self) -> Episode | None:
        return self.dialog.episode(self.answer.seq)

    @property
    def rating(self) -> str | None:
        return self.dialog.ratings.get(self.answer.id or 0)


def _candidates(dialog: _Dialog) -> Iterator[_Candidate]:
    for message in dialog.messages:
        asked = dialog.by_seq.get(message.seq - 1)
        if (
            message.role == Role.BOT
            and message.decision == "reply"
            and asked is not None
            and asked.role == Role.CUSTOMER
        ):
            yield _Candidate(Source.BOT, dialog, (asked,), message, asked.intent)
        questions = _questions(dialog, message)
        if questions:
            yield _Candidate(Source.AGENT, dialog, questions, message, questions[-1].intent)
    yield from _retried(dialog)


def _questions(dialog: _Dialog, message: Message) -> tuple[Message, ...]:
    """The customer messages an agent's reply answers (none for any other message)."""
    ids = message.understood.answers if message.role == Role.AGENT else []
    found = (dialog.by_id.get(i) for i in ids)
    return tuple(
        sorted((m for m in found if m is not None and m.role == Role.CUSTOMER), key=lambda m: m.seq)
    )


def _agent_answers(dialog: _Dialog) -> dict[int, Message]:
    """Customer message id -> the first agent reply that answers it."""
    answered: dict[int, Message] = {}
    for message in dialog.messages:
        for asked in _questions(dialog, message):
            answered.setdefault(asked.id or 0, message)
    return answered


def _failed(dialog: _Dialog, customer: Message) -> bool:
    """The bot's reply did not help: a handoff for want of an answer, a thumbs down, or a reply
    to a message it did not understand (unsure, out of scope)."""
    reply = dialog.reply_to(customer)
    if reply is None:
        return False
    if reply.decision == "handoff":
        return reply.handoff_reason in UNANSWERED
    return reply.decision == "reply" and (
        dialog.ratings.get(reply.id or 0) == "down" or customer.intent in FAILED_INTENTS
    )


def _helped(dialog: _Dialog, customer: Message, agents: dict[int, Message]) -> Message | None:
    """The answer that helped with this message: the bot's, unless it failed; else a person's."""
    reply = dialog.reply_to(customer)
    if reply is not None and reply.decision == "reply" and not _failed(dialog, customer):
        return reply
    return agents.get(customer.id or 0)


def _retried(dialog: _Dialog) -> Iterator[_Candidate]:
    """For each failed attempt, the first later answer in the same episode that helped with a
    message on the same topic (same intent, or much the same words)."""
    agents = _agent_answers(dialog)
    asked = [m for m in dialog.messages if m.role == Role.CUSTOMER]
    for n, attempt in enumerate(asked):
        if not _failed(dialog, attempt):
            continue
        episode = dialog.episode(attempt.seq)
        for later in asked[n + 1 :]:
            if dialog.episode(later.seq) is not episode or not _same_topic(attempt, later):
                continue
            answer = _helped(dialog, later, agents)
            if answer is None or agents.get(attempt.id or 0) is answer:
                continue  # nothing helped yet, or the agent's reply already answers this one
            intent = next(
                (i for i in (attempt.intent, later.intent) if i not in NOT_A_TOPIC), attempt.intent
            )
            yield _Candidate(Source.RETRIED, dialog, (attempt,), answer, intent)
            break


def _same_topic(first: Message, second: Message) -> bool:
    if first.intent == second.intent and first.intent not in NOT_A_TOPIC:
        return True
    ratio = fuzz.token_set_ratio(first.text, second.text, processor=utils.default_process)
    return bool(ratio >= SIMILAR_FROM)


def _refusal(selection: Selection, c: _Candidate) -> str | None:
    """The first filter that drops this candidate, or None."""
    episode, conversation = c.episode, c.dialog.conversation
    if c.source not in selection.sources:
        return "source"
    if selection.channels and conversation.channel not in selection.channels:
        return "channel"
    if not selection.within(c.answer.created_at):
        return "date"
    open_but_liked = selection.include_open and c.source is Source.BOT and c.rating == "up"
    if episode is None and not open_but_liked:
        return "not ended"
    if episode is not None and episode.outcome not in selection.outcomes_for(c.source):
        return "outcome"
    if c.rating == "down":
        return "thumbs down"
    if selection.feedback == "up" and c.answer.role == Role.BOT and c.rating != "up":
        return "not thumbed up"
    if selection.min_satisfaction is not None and (
        episode is None or (episode.satisfaction or 0) < selection.min_satisfaction
    ):
        return "satisfaction"
    if c.asked[-1].understood.documents is None:
        return "no documents"  # stored before documents were kept: the prompt is not known
    return None


def _example(c: _Candidate, store: StoreWords) -> Example:
    """The candidate as an example, every text but the system prompt scrubbed (the store's own
    words kept)."""
    names, counts = c.dialog.names, Counter[str]()
    raw = [Document.from_dict(d) for d in c.asked[-1].understood.documents or []]
    keep = record_numbers(d.text for d in raw)

    def clean(text: str) -> str:
        cleaned, found = scrub(text, names, keep, store)
        counts.update(found)
        return cleaned

    context = tuple(
        Said(m.role, clean(m.text))
        for m in c.dialog.before(c.asked[0].seq)
        if m.role != Role.SYSTEM
    )
    documents = tuple(Document(d.id, clean(d.text)) for d in raw)
    question = clean("\n".join(m.text for m in c.asked))
    episode = c.episode
    generation = c.answer.understood.generation if c.answer.role == Role.BOT else None
    ids = [str(m.id) for m in c.asked] if c.source is Source.RETRIED else []
    return Example(
        id=":".join([c.source.value, *ids, str(c.answer.id)]),
        source=c.source,
        intent=c.intent,
        channel=c.dialog.conversation.channel,
        conversation_id=c.dialog.conversation.id or 0,
        context=context,
        documents=documents,
        question=question,
        answer=clean(c.answer.text),
        outcome=episode.outcome if episode else None,
        feedback=c.rating,
        satisfaction=episode.satisfaction if episode else None,
        created_at=aware(c.answer.created_at),
        generation=generation if isinstance(generation, dict) else None,
        scrubbed=counts,
    )


def unsupported(example: Example) -> tuple[str, ...]:
    """The target's facts no source states (the check the openai generator's answers pass)."""
    texts = [d.text for d in example.documents]
    policies = [d.text for d in example.documents if d.id.startswith(("faq:", "order:"))]
    return check(example.answer, texts, policies).unsupported


def claimed_actions(example: Example) -> list[str]:
    """What the target says was done (cancelled, refunded, changed, sent) that no order record
    among its sources states: true of an agent, who acts, but never of the model."""
    records = claims.supported(d.text for d in example.documents)
    return claims.unsupported(example.answer, records)


# -- reading the database ----------------------------------------------------------------------


def _dialogs(session: Session) -> Iterator[_Dialog]:
    agents = tuple(a for a in session.exec(select(Agent.display_name)).all() if a)
    ids = [i for i in session.exec(select(Conversation.id).order_by(col(Conversation.id))) if i]
    for start in range(0, len(ids), CONVERSATIONS_AT_ONCE):
        yield from _slice(session, ids[start : start + CONVERSATIONS_AT_ONCE], agents)


def _slice(session: Session, ids: Sequence[int], agents: tuple[str, ...]) -> Iterator[_Dialog]:
    conversations = session.exec(
        select(Conversation).where(col(Conversation.id).in_(ids)).order_by(col(Conversation.id))
    ).all()
    in_order = (col(Message.conversation_id), col(Message.seq))
    rows = session.exec(
        select(Message).where(col(Message.conversation_id).in_(ids)).order_by(*in_order)
    ).all()
    ratings = dict(
        session.exec(
            select(Feedback.message_id, Feedback.rating)
            .join(Message, col(Message.id) == col(Feedback.message_id))
            .where(col(Message.conversation_id).in_(ids))
        ).all()
    )
    episodes = session.exec(
        select(Episode)
        .where(col(Episode.conversation_id).in_(ids))
        .order_by(col(Episode.first_seq))
    ).all()
    by_conversation: dict[int, list[Message]] = {}
    for message in rows:
        by_conversation.setdefault(message.conversation_id, []).append(message)
    names = _known_names(session, conversations, rows)
    for conversation in conversations:
        cid = conversation.id or 0
        yield _Dialog(
            conversation,
            by_conversation.get(cid, []),
            [e for e in episodes if e.conversation_id == cid],
            ratings,
            tuple(sorted({*names.get(cid, set()), *agents})),
        )


def _known_names(
    session: Session, conversations: Sequence[Conversation], rows: Sequence[Message]
) -> dict[int, set[str]]:
    """Per conversation: the customer's name, that of the orders it mentions, and the agents'
    names as their replies give them."""
    names: dict[int, set[str]] = {c.id or 0: {c.customer_name or ""} for c in conversations}
    customer_ids = {c.customer_id for c in conversations if c.customer_id}
    customers = dict(
        session.exec(
            select(Customer.id, Customer.name).where(col(Customer.id).in_(customer_ids))
        ).all()
    )
    orders: dict[int, set[str]] = {}
    for conversation in conversations:
        names[conversation.id or 0].add(customers.get(conversation.customer_id) or "")
        memory_order = conversation.memory.get("order_id")
        if isinstance(memory_order, str):
            orders.setdefault(conversation.id or 0, set()).add(memory_order)
    for message in rows:
        orders.setdefault(message.conversation_id, set()).update(_order_ids(message))
        agent_name = message.understood.agent_name if message.role == Role.AGENT else ""
        names[message.conversation_id].add(agent_name or "")
    mentioned = {o for found in orders.values() for o in found}
    owners = dict(
        session.exec(
            select(Order.order_id, Order.customer_name).where(col(Order.order_id).in_(mentioned))
        ).all()
    )
    for cid, found in orders.items():
        names.setdefault(cid, set()).update(owners.get(o, "") for o in found)
    return {cid: {n for n in found if n.strip()} for cid, found in names.items()}


def _order_ids(message: Message) -> set[str]:
    understanding = message.understood
    found = {
        str(d.get("id", ""))[len("order:") :]
        for d in understanding.documents or []
        if str(d.get("id", "")).startswith("order:")
    }
    order_id = understanding.slots.get("order_id")
    if order_id is not None:
        found.add(order_id)
    return found


# -- the export --------------------------------------------------------------------------------


@dataclass
class Summary:
    """What an export took, and what it left out and why."""

    candidates: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # filter -> examples
    by_source: Counter[str] = field(default_factory=Counter)
    by_intent: Counter[str] = field(default_factory=Counter)
    scrubbed: Counter[str] = field(default_factory=Counter)  # kind -> replacements
    unsupported: int = 0  # targets (kept or not) stating facts their sources do not have
    sizes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    conversations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    files: list[Path] = field(default_factory=list)

    @property
    def examples(self) -> int:
        return sum(self.sizes.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "train": self.sizes["train"],
            "validation": self.sizes["validation"],
            "conversations": self.conversations,
            "candidates": self.candidates,
            "by_source": {s: self.by_source[s] for s in Source if self.by_source[s]},
            "by_intent": dict(self.by_intent.most_common()),
            "dropped": {f: self.dropped[f] for f in FILTERS if self.dropped[f]},
            "duplicates": self.dropped["duplicate"],
            "scrubbed": {k: self.scrubbed[k] for k in PLACEHOLDERS if self.scrubbed[k]},
            "unsupported_facts": self.unsupported,
            "files": [str(p) for p in self.files],
        }

    def why_empty(self) -> str:
        if not self.candidates:
            return "no answers to learn from yet (no bot, agent or retried answers stored)"
        taken = ", ".join(f"{f} {self.dropped[f]}" for f in FILTERS if self.dropped[f])
        return f"no example left: of {self.candidates} answers, the filters dropped {taken}"


def collect(db: Database, selection: Selection, summary: Summary | None = None) -> list[Example]:
    """The examples the selection takes, in conversation order, scrubbed and without
    duplicates; `summary` counts what was dropped and why. Conversations are read a slice at a
    time and only their examples are kept."""
    summary = summary if summary is not None else Summary()
    examples: list[Example] = []
    seen: set[str] = set()
    with Session(db) as session:
        store = store_words(session)
        for dialog in _dialogs(session):
            for example in _examples(dialog, selection, summary, store):
                if example.key() in seen:
                    summary.dropped["duplicate"] += 1
                    continue
                seen.add(example.key())
                examples.append(example)
    return examples


def store_words(session: Session) -> StoreWords:
    """The catalog's and the FAQ's texts: what they say is the store's, never a customer's."""
    texts: list[str] = []
    names: set[str] = set()
    for product in session.exec(select(Product)):
        names |= {product.sku, product.name, product.brand}
        texts += [
            product.sku,
            product.name,
            product.brand,
            product.category,
            product.description,
            *map(str, product.attributes.values()),
        ]
    for entry in session.exec(select(FaqEntry)):
        texts += [entry.question, *entry.alternates, entry.answer]
    return StoreWords(texts, names)


def _examples(
    dialog: _Dialog, selection: Selection, summary: Summary, store: StoreWords
) -> Iterator[Example]:
    kept: list[_Candidate] = []
    for candidate in _candidates(dialog):
        summary.candidates += 1
        reason = _refusal(selection, candidate)
        if reason is None:
            kept.append(candidate)
        else:
            summary.dropped[reason] += 1
    retried = {c.asked[0].id for c in kept if c.source is Source.RETRIED}
    for candidate in sorted(kept, key=lambda c: c.answer.seq):
        if candidate.source is Source.BOT and candidate.asked[0].id in retried:
            summary.dropped["superseded"] += 1  # its failed reply; the later answer is the target
            continue
        example = _example(candidate, store)
        if unsupported(example):
            summary.unsupported += 1
            if selection.grounded_only:
                summary.dropped["facts not in sources"] += 1
                continue
        if claimed_actions(example):
            summary.dropped["claims an action"] += 1  # a model taught it would claim them too
            continue
        yield example


def split(
    examples: Sequence[Example], share: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Train and validation, by conversation: the same examples and seed give the same split.
    Validation takes `share` of the conversations (at least one when there are two or more)."""
    conversations = sorted({e.conversation_id for e in examples})
    random.Random(seed).shuffle(conversations)
    count = round(len(conversations) * share)
    if share > 0 and len(conversations) > 1:
        count = min(max(count, 1), len(conversations) - 1)
    held = set(conversations[:count])
    return (
        [e for e in examples if e.conversation_id not in held],
        [e for e in examples if e.conversation_id in held],
    )


def export(
    db: Database,
    out: Path,
    selection: Selection,
    *,
    validation_share: float = 0.1,
    seed: int = 42,
) -> Summary:
    """Collect, split and write the examples; `NothingToExportError` when none is left."""
    if not 0 <= validation_share < 1:
        raise ExportError(
            f"the validation share must be at least 0 and below 1, not {validation_share}"
        )
    summary = Summary()
    examples = collect(db, selection, summary)
    if not examples:
        raise NothingToExportError(summary)
    parts = dict(zip(SPLITS, split(examples, validation_share, seed), strict=True))
    for name, part in parts.items():
        summary.sizes[name] = len(part)
        summary.conversations[name] = len({e.conversation_id for e in part})
        summary.files += _write_split(out, name, part)
    for example in examples:
        summary.by_source[example.source.value] += 1
        summary.by_intent[example.intent or "none"] += 1
        summary.scrubbed.update(example.scrubbed)
    summary.files.append(out / "summary.json")
    _write(out / "summary.json", [json.dumps(summary.as_dict(), indent=2, ensure_ascii=False)])
    return summary


def _write_split(out: Path, name: str, examples: Sequence[Example]) -> list[Path]:
    """Both formats of one split; an empty split's files are removed, so that `shopclerk
    finetune` does not pick up an old one."""
    chat, plain = out / f"{name}.jsonl", out / f"{name}.plain.jsonl"
    if not examples:
        chat.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)
        return []
    lines = []
    for example in examples:
        line = example.chat()
        validate_chat_line(line)
        lines.append(json.dumps(line, ensure_ascii=False))
    _write(chat, lines)
    _write(plain, [json.dumps(e.plain(), ensure_ascii=False) for e in examples])
    return [chat, plain]


def _write(path: Path, lines: Iterable[str]) -> None:
    """Whole or not at all: a trainer never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        try:
            for line in lines:
                handle.write(line + "\n")
        except BaseException:
            os.unlink(handle.name)
            raise
    os.replace(handle.name, path)
