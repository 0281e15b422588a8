"""Conversation storage: the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from engine.store import ConversationStore
from kb.database import Database


def _row(conversation_id: int, role: str, text: str, seq: int) -> dict[str, object]:
    from engine.clock import utcnow

    return {"conversation_id": conversation_id, "role": role, "text": text, "seq": seq,
            "understanding": {}, "sources": [], "created_at": utcnow()}  # fmt: skip


def test_conversations_are_created_once_per_key(db: Database) -> None:
    store = ConversationStore(db)
    with store.session() as session:
        found = store.load_many(session, [("web", "a"), ("web", "b"), ("web", "a")])
        session.commit()
    assert set(found) == {("web", "a"), ("web", "b")}
    again = store.load("web", "a")
    assert again.id == found[("web", "a")].id
    assert store.load("slack", "a").id not in {c.id for c in found.values()}


def test_memory_and_messages_survive_a_new_store(db: Database) -> None:
    store = ConversationStore(db)
    with store.session() as session:
        conversation = store.load_many(session, [("web", "s1")])[("web", "s1")]
        conversation.memory = {"order_id": "HP-105442", "emails": ["ann@example.com"]}
        conversation.customer_email = "ann@example.com"
        assert conversation.id is not None
        rows = [_row(conversation.id, "customer", "hi 🙂 <b>x</b>", 1),
                _row(conversation.id, "bot", "Hello!", 2)]  # fmt: skip
        store.record(session, [conversation], rows)

    reopened = ConversationStore(db).load("web", "s1")
    assert reopened.memory["order_id"] == "HP-105442"
    assert reopened.given_emails() == ["ann@example.com"]
    assert reopened.id is not None
    history = ConversationStore(db).history(reopened.id)
    assert [(m.role, m.text) for m in history] == [
        ("customer", "hi 🙂 <b>x</b>"), ("bot", "Hello!")
    ]  # fmt: skip


def _conversation_with_messages(store: ConversationStore, key: str) -> int:
    with store.session() as session:
        conversation = store.load_many(session, [("web", key)])[("web", key)]
        assert conversation.id is not None
        conversation.last_seq = 4
        rows = [_row(conversation.id, "customer", "hi", 1), _row(conversation.id, "bot", "Hey", 2),
                _row(conversation.id, "customer", "thanks", 3),
                _row(conversation.id, "bot", "Bye", 4)]  # fmt: skip
        rows[2]["client_message_id"] = "c-3"
        store.record(session, [conversation], rows)
        return conversation.id


def test_messages_after_a_seq_come_in_order(db: Database) -> None:
    store = ConversationStore(db)
    _conversation_with_messages(store, "s2")
    assert [m.seq for m in store.messages_after("web", "s2", 0)] == [1, 2, 3, 4]
    assert [m.text for m in store.messages_after("web", "s2", 2)] == ["thanks", "Bye"]
    assert store.messages_after("web", "other", 0) == []
    assert store.exists("web", "s2")
    assert not store.exists("slack", "s2")


def test_a_client_id_finds_its_stored_message(db: Database) -> None:
    store = ConversationStore(db)
    _conversation_with_messages(store, "s3")
    found = store.message_for_client_id("web", "s3", "c-3")
    assert found is not None
    assert found.seq == 3
    assert store.message_for_client_id("web", "s3", "nope") is None


def test_feedback_only_on_this_conversations_bot_messages(db: Database) -> None:
    store = ConversationStore(db)
    _conversation_with_messages(store, "s4")
    _conversation_with_messages(store, "s5")
    bot = store.messages_after("web", "s4", 1)[0]
    customer = store.messages_after("web", "s4", 0)[0]
    assert bot.id is not None
    assert customer.id is not None
    assert store.save_feedback("web", "s4", bot.id, "up")
    assert store.save_feedback("web", "s4", bot.id, "down")  # a second rating replaces it
    assert not store.save_feedback("web", "s4", customer.id, "up")
    assert not store.save_feedback("web", "s5", bot.id, "up")  # someone else's conversation
    from sqlmodel import Session, select

    from engine.models import Feedback

    with Session(db) as session:
        ratings = session.exec(select(Feedback.rating)).all()
    assert list(ratings) == ["down"]


def test_a_known_customer_is_linked_once_across_conversations(db: Database) -> None:
    from sqlmodel import Session, select

    from engine.models import Customer

    store = ConversationStore(db)
    with store.session() as session:
        found = store.load_many(session, [("web", "k1"), ("slack", "k2"), ("web", "k3")])
        found[("web", "k1")].customer_email = "ann@example.com"
        found[("slack", "k2")].memory = {"verified_email": "ann@example.com"}
        store.record(session, found.values(), [])
    ids = {key: store.load(*key).customer_id for key in found}
    assert ids[("web", "k1")] is not None
    assert ids[("web", "k1")] == ids[("slack", "k2")]
    assert ids[("web", "k3")] is None  # nobody known yet
    with Session(db) as session:
        assert [c.email for c in session.exec(select(Customer)).all()] == ["ann@example.com"]
