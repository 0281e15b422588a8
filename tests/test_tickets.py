"""The handoff's records on SQLite and PostgreSQL: a whole handoff, the board's queries, and
the flags for handoffs that wait too long."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from engine.models import Message
from engine.owners import BOT, QUEUE, agent_owner
from engine.store import ConversationStore
from engine.understanding import Understanding
from handoff.agents import AgentAccounts
from handoff.models import Agent, HandoffRecord
from handoff.tickets import NotYoursError, Tickets
from handoff.views import board
from kb.database import Database


def _with_intent(store: ConversationStore, cid: int, text: str, intent: str) -> Message:
    understanding = Understanding(slots={}, draft={"text": "a draft"})
    message = store.append(cid, "customer", text, understanding)
    with store.session() as session:
        session.execute(update(Message).where(col(Message.id) == message.id).values(intent=intent))
        session.commit()
    return message


@pytest.fixture
def setup(db: Database) -> tuple[Tickets, int, Agent, Agent]:
    store = ConversationStore(db)
    cid = store.load("web", "s-1").id
    assert cid is not None
    accounts = AgentAccounts(db)
    anna = accounts.add("anna", "Anna", "long enough password")
    ben = accounts.add("ben", "Ben", "long enough password")
    return Tickets(db, store), cid, anna, ben


def test_a_whole_handoff_is_recorded(setup: tuple[Tickets, int, Agent, Agent]) -> None:
    tickets, cid, anna, ben = setup
    _with_intent(tickets.store, cid, "I want a person", "contact_human_agent")
    assert tickets.hand_off(cid, "customer_asked", "customer", offline=False).change.owner == QUEUE
    assert tickets.queue_order() == [cid]
    joined = tickets.claim(cid, anna)
    assert joined.change.owner == agent_owner(anna.id or 0)
    assert joined.message is not None
    assert joined.message.text == "Anna joined the chat."
    assert not tickets.claim(cid, ben).change.done  # taken
    question = _with_intent(tickets.store, cid, "where is my parcel", "track_order")
    with pytest.raises(NotYoursError):
        tickets.reply(cid, ben, "me too", "b-1", "own")
    reply = tickets.reply(cid, anna, "It is on its way.", "a-1", "edited")
    assert tickets.reply(cid, anna, "It is on its way.", "a-1", "edited").id == reply.id
    assert reply.understanding["answers"] == [question.id]
    assert reply.understanding["draft_text"] == "a draft"
    tickets.release(cid, anna, BOT, "resolved")
    record = tickets.latest_record(cid)
    assert record is not None
    assert (record.reason, record.outcome, record.agent_id) == ("customer_asked", "resolved",
                                                                anna.id)  # fmt: skip
    assert record.claimed_at
    assert record.first_reply_at
    assert record.closed_at
    assert tickets.ownership.owner(cid) == BOT
    trail = [(c.from_owner, c.to_owner, c.reason) for c in tickets.ownership.history(cid)]
    owner = agent_owner(anna.id or 0)
    assert trail == [("bot", "queue", "customer_asked"), ("queue", owner, "claimed"),
                     (owner, "bot", "resolved")]  # fmt: skip


def test_the_board_and_the_flags(setup: tuple[Tickets, int, Agent, Agent]) -> None:
    tickets, cid, anna, _ = setup
    _with_intent(tickets.store, cid, "my order never came", "track_order")
    tickets.hand_off(cid, "no_grounded_answer", "bot", offline=True)
    whole = board(tickets, {anna.id or 0: "Anna"}, lambda channel, key: key == "s-1", False)
    (item,) = whole["queue"]
    assert item["conversation_id"] == cid
    assert (item["reason"], item["intent"], item["offline"], item["position"]) == (
        "no_grounded_answer", "track_order", True, 1)  # fmt: skip
    assert item["last_message"] == "my order never came"
    assert item["customer_online"] is True
    assert tickets.announce_due(timedelta(hours=1)) == []  # not waited long enough yet
    assert tickets.announce_due(timedelta(seconds=0)) == [cid]
    record = tickets.open_record(cid)
    assert isinstance(record, HandoffRecord)
    assert record.flagged_at is not None
    assert tickets.contact(cid, "maria@example.com") is True
    assert tickets.contact(cid, "maria@example.com") is False


def test_with_the_bot_shows_customers_not_test_chats(
    setup: tuple[Tickets, int, Agent, Agent],
) -> None:
    tickets, web, _, _ = setup
    tickets.store.append(web, "customer", "do you ship to Ghent?")
    for channel in ("cli", "eval"):
        test_chat = tickets.store.load(channel, f"{channel}-1").id
        assert test_chat is not None
        tickets.store.append(test_chat, "customer", "where is my order")
    whole = board(tickets, {}, lambda channel, key: False, False)
    assert [item["conversation_id"] for item in whole["live"]] == [web]


def test_a_customer_in_the_chat_is_served_before_older_offline_tickets(
    setup: tuple[Tickets, int, Agent, Agent],
) -> None:
    tickets, ticket, _, _ = setup
    tickets.store.append(ticket, "customer", "my parcel never came, mail me")
    tickets.hand_off(ticket, "no_grounded_answer", "bot", offline=True)
    live = tickets.store.load("web", "s-2").id
    assert live is not None
    tickets.store.append(live, "customer", "I want to talk to a person")
    tickets.hand_off(live, "customer_request", "customer", offline=False)
    whole = board(tickets, {}, lambda channel, key: True, False)
    assert [(i["conversation_id"], i["position"]) for i in whole["queue"]] == [
        (live, 1),
        (ticket, 2),
    ]
