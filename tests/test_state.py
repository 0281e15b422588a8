"""Conversation storage: the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from engine.state import ConversationStore
from kb.database import Database


def _row(conversation_id: int, role: str, text: str, seq: int) -> dict[str, object]:
    from engine.state import utcnow

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
