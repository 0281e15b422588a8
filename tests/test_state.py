"""Conversation storage: the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from engine.models import Conversation
from engine.store import ConversationStore, Seen
from kb.database import Database


def _row(conversation_id: int, role: str, text: str, seq: int) -> dict[str, object]:
    from engine.clock import utcnow

    return {"conversation_id": conversation_id, "role": role, "text": text, "seq": seq,
            "understanding": {}, "sources": [], "created_at": utcnow()}  # fmt: skip


def _new(*conversations: Conversation) -> dict[int, Seen]:
    """Conversations as first read: no messages yet, the bot's."""
    return {c.id or 0: Seen(0, "bot") for c in conversations}


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
        assert store.record(session, [conversation], rows, _new(conversation))

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
        assert store.record(session, [conversation], rows, _new(conversation))
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
        assert store.record(session, found.values(), [], _new(*found.values()))
    ids = {key: store.load(*key).customer_id for key in found}
    assert ids[("web", "k1")] is not None
    assert ids[("web", "k1")] == ids[("slack", "k2")]
    assert ids[("web", "k3")] is None  # nobody known yet
    with Session(db) as session:
        assert [c.email for c in session.exec(select(Customer)).all()] == ["ann@example.com"]


def test_a_batch_whose_conversation_was_written_meanwhile_writes_nothing(db: Database) -> None:
    """Another process's message took the seq: the batch is rolled back whole (its engine
    computes it again), never half written, and the other message stands."""
    from engine.models import Role

    store = ConversationStore(db)
    with store.session() as session:
        found = store.load_many(session, [("web", "busy"), ("web", "bystander")])
        as_read = {c.id or 0: Seen.of(c) for c in found.values()}
        busy, bystander = found[("web", "busy")], found[("web", "bystander")]
        assert busy.id is not None
        assert bystander.id is not None
        store.append(busy.id, Role.AGENT, "Sam here")  # seq 1, from elsewhere
        busy.last_seq = bystander.last_seq = 2
        rows = [_row(busy.id, "customer", "hi", 1), _row(busy.id, "bot", "Hello", 2),
                _row(bystander.id, "customer", "hey", 1),
                _row(bystander.id, "bot", "Hi", 2)]  # fmt: skip

        assert not store.record(session, found.values(), rows, as_read)
        assert store.changed(session, as_read) == [busy.id]
    assert [m.text for m in store.messages_after("web", "busy", 0)] == ["Sam here"]
    assert store.messages_after("web", "bystander", 0) == []
    assert store.load("web", "bystander").last_seq == 0


def test_two_writers_creating_one_conversation_share_it(db: Database) -> None:
    store, other = ConversationStore(db), ConversationStore(db)
    with store.session() as session, other.session() as racing:
        first = other.load_many(racing, [("web", "new")])[("web", "new")]  # committed at once
        mine = store.load_many(session, [("web", "new"), ("web", "also new")])
    assert mine[("web", "new")].id == first.id
    assert mine[("web", "also new")].id not in (None, first.id)
