"""What the agent console shows: the board (queue, mine, others, with the bot) and one
conversation's view. Plain dicts, exactly as docs/agent-console.md describes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from engine.audit import SecurityEvent, SecurityLog
from engine.clock import utcnow
from engine.models import Conversation, Message, Role
from engine.owners import QUEUE, Owner, agent_owner
from engine.proof import author_memory
from handoff.models import HandoffRecord, Note, aware
from handoff.tickets import Tickets
from kb.models import Order

LIVE_WINDOW = timedelta(minutes=30)  # "with the bot": conversations active this recently
EXCERPT = 160


class Orders(Protocol):
    def find(self, order_id: str) -> Order | None: ...


def board(
    tickets: Tickets,
    online: dict[int, str],
    customer_online: Callable[[str, str], bool],
    offline: bool,
) -> dict[str, Any]:
    """Everything on the board, for every agent (`for_agent` splits mine from others')."""
    queued = tickets.queue_order()
    people = tickets.with_people()
    live = tickets.recent_with_bot(utcnow() - LIVE_WINDOW)
    ids = list(dict.fromkeys([*queued, *people, *live]))
    conversations = tickets.conversations(ids)
    records = tickets.records(ids)
    last = tickets.last_customer_messages(ids)
    owners = {_agent_id(c.owner) for c in conversations.values()} - {None}
    names = {i: a.display_name for i, a in tickets.agents([i for i in owners if i]).items()}
    position = {cid: n + 1 for n, cid in enumerate(queued)}

    def item(cid: int) -> dict[str, Any]:
        c = conversations[cid]
        return queue_item(
            c,
            records.get(cid),
            last.get(cid),
            names,
            position.get(cid),
            customer_online(c.channel, c.key),
        )

    return {
        "queue": [item(c) for c in queued if c in conversations],
        "people": [item(c) for c in people if c in conversations and c not in position],
        "live": [item(c) for c in live if c in conversations],
        "agents_online": [{"id": i, "display_name": n} for i, n in sorted(online.items())],
        "offline": offline,
    }


def for_agent(whole: dict[str, Any], agent_id: int) -> dict[str, Any]:
    mine = agent_owner(agent_id)
    return {
        "queue": whole["queue"],
        "mine": [i for i in whole["people"] if i["owner"] == mine],
        "others": [i for i in whole["people"] if i["owner"] != mine],
        "live": whole["live"],
        "agents_online": whole["agents_online"],
        "offline": whole["offline"],
    }


def queue_item(
    conversation: Conversation,
    record: HandoffRecord | None,
    last: Message | None,
    names: dict[int, str],
    position: int | None,
    customer_online: bool,
) -> dict[str, Any]:
    since = record.requested_at if record else conversation.updated_at
    owner_id = _agent_id(conversation.owner)
    email = conversation.identified_email() or (record.contact_email if record else None)
    return {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "customer": {
            "name": conversation.customer_name,
            "email": email,
        },
        "owner": conversation.owner,
        "owner_name": names.get(owner_id) if owner_id else None,
        "reason": record.reason if record else None,
        "intent": last.intent if last else None,
        "since": iso(since),
        "wait_seconds": round((utcnow() - aware(since)).total_seconds()),
        "position": position,
        "offline": bool(record and record.offline),
        "flagged": bool(record and record.flagged_at),
        "last_message": _excerpt(last.text) if last else "",
        "customer_online": customer_online,
    }


def conversation_view(
    tickets: Tickets, orders: Orders, conversation_id: int, customer_online: bool
) -> dict[str, Any] | None:
    conversation = tickets.conversations([conversation_id]).get(conversation_id)
    if conversation is None:
        return None
    record = tickets.open_record(conversation_id) or tickets.latest_record(conversation_id)
    messages = tickets.messages(conversation_id)
    notes = tickets.notes(conversation_id)
    agent_ids = {n.agent_id for n in notes}
    for who in (record.agent_id if record else None, _agent_id(conversation.owner)):
        if who:
            agent_ids.add(who)
    agents = tickets.agents(sorted(agent_ids))
    names = {i: a.display_name for i, a in agents.items()}
    last = next((m for m in reversed(messages) if m.role == Role.CUSTOMER), None)
    position = None
    if conversation.owner == QUEUE:
        order = tickets.queue_order()
        position = order.index(conversation_id) + 1 if conversation_id in order else None
    open_record = record if record and record.closed_at is None else None
    return {
        "conversation": queue_item(
            conversation, open_record, last, names, position, customer_online
        ),
        "handoff": _handoff(record, names),
        "messages": [message_view(m) for m in messages],
        "understanding": _understanding(last, orders, understood(conversation, messages, orders)),
        "draft": _draft(last),
        "identity": _identity(conversation),
        "security": [
            _security(e) for e in SecurityLog(tickets.db).of_conversation(conversation_id)
        ],
        "notes": [
            {
                "id": n.id,
                "agent": names.get(n.agent_id, "?"),
                "text": n.text,
                "created_at": iso(n.created_at),
            }
            for n in notes
        ],
    }


def message_view(message: Message) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": message.id,
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "created_at": iso(message.created_at),
    }
    if message.role == Role.AGENT:
        view["agent"] = message.understood.agent_name
    if message.role == Role.CUSTOMER:
        view["intent"] = message.intent
    if message.handoff_reason:
        view["handoff_reason"] = message.handoff_reason
    return view


def _note(note: Note, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": note.id,
        "agent": names.get(note.agent_id, "?"),
        "text": note.text,
        "created_at": iso(note.created_at),
    }


def _handoff(record: HandoffRecord | None, names: dict[int, str]) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "id": record.id,
        "reason": record.reason,
        "requested_at": iso(record.requested_at),
        "claimed_at": iso(record.claimed_at) if record.claimed_at else None,
        "closed_at": iso(record.closed_at) if record.closed_at else None,
        "outcome": record.outcome,
        "agent": names.get(record.agent_id) if record.agent_id else None,
        "offline": record.offline,
        "contact_email": record.contact_email,
        "flagged": record.flagged_at is not None,
    }


def _understanding(
    last: Message | None, orders: Orders, conversation: dict[str, Any]
) -> dict[str, Any] | None:
    """The latest message as the bot understood it; its order, or else the one the
    conversation looked up last; and `conversation`, what it understood over all messages."""
    if last is None:
        return None
    understanding = last.understood
    slots = understanding.slots
    order_id = slots.get("order_id")
    order = orders.find(order_id) if isinstance(order_id, str) else None
    return {
        "intent": last.intent,
        "confidence": round(last.intent_confidence or 0.0, 3),
        "candidates": understanding.candidates[:3],
        "slots": slots,
        "requests": understanding.requests,
        "corrected_text": last.corrected_text if last.corrected_text != last.text else None,
        "order": _order(order) if order else conversation["order"],
        "conversation": conversation,
    }


def understood(
    conversation: Conversation, messages: list[Message], orders: Orders
) -> dict[str, Any]:
    """What the bot understood over the whole conversation: the customer it knows or who
    proved an order, the order looked up last (and whether its owner proved it), the
    products discussed."""
    said = [m for m in messages if m.role == Role.CUSTOMER]
    order_ids = [m.understood.slots.get("order_id") for m in said]
    order_id = next((o for o in reversed(order_ids) if isinstance(o, str)), None)
    order = orders.find(order_id) if order_id else None
    proved = set(_identity(conversation)["proved_emails"])
    email = conversation.identified_email()
    return {
        "customer": {
            "name": conversation.customer_name,
            "email": email,
            "proved_emails": sorted(proved),
        }
        if email or proved
        else None,
        "order": _order(order) if order else None,
        "order_proved": bool(order and order.customer_email.lower() in proved | {email}),
        "products": _products(messages),
    }


def _products(messages: list[Message]) -> list[dict[str, str]]:
    """The products the bot answered about or drafted, first mention first."""
    found: dict[str, str] = {}
    for m in messages:
        draft = m.understood.draft_sources if m.role == Role.CUSTOMER else []
        sources = m.sources + draft
        for source in sources:
            if isinstance(source, dict) and source.get("kind") == "product":
                found.setdefault(str(source.get("id")), str(source.get("title")))
    return [{"sku": sku, "name": name} for sku, name in found.items()]


def _identity(conversation: Conversation) -> dict[str, Any]:
    """Who the customer proved to be: the channel's verified email, the emails they proved by
    an order number, and emails only typed (which prove nothing), per author."""
    memory = conversation.memory
    authors = memory.get("authors")
    entries = [author_memory(memory, None)]
    if isinstance(authors, dict):
        entries += [author_memory(memory, sender) for sender in sorted(authors)]
    proved = sorted({e for entry in entries for e in entry.get("proved", [])})
    given = sorted({e for entry in entries for e in entry.get("emails", [])} - set(proved))
    return {
        "verified_email": conversation.customer_email,
        "proved_emails": proved,
        "unproved_emails": given,
        "authors": sorted(authors) if isinstance(authors, dict) else [],
    }


def _security(row: SecurityEvent) -> dict[str, Any]:
    """A failed proof, a lockout or a rejected shop identity in this conversation."""
    return {
        "kind": row.kind,
        "order_id": row.order_id,
        "email": row.email,
        "address": row.address,
        "detail": row.detail,
        "at": iso(row.created_at),
    }


def _order(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "status": order.status,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "placed_at": iso(order.placed_at),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "estimated_delivery": order.estimated_delivery,
        "total": f"{order.total_cents / 100:.2f} {order.currency}",
    }


def _draft(last: Message | None) -> dict[str, Any] | None:
    draft = last.understood.bot_draft if last else None
    return dict(draft) if draft is not None else None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _agent_id(owner: str) -> int | None:
    return Owner.parse(owner).agent_id


def iso(moment: datetime) -> str:
    return aware(moment).isoformat().replace("+00:00", "Z")
