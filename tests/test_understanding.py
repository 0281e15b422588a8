"""`Message.understanding`, the contract between the engine and its readers: rows stored by
older versions still load, and what the writers store is exactly what they stored before."""

from __future__ import annotations

from sqlalchemy import insert

from engine.clock import utcnow
from engine.models import Message
from engine.store import ConversationStore
from engine.understanding import Understanding
from kb.database import Database

# A customer message stored before documents, requests and drafts were kept, and an agent's
# reply from before `draft_text`: the keys the rows hold, nothing more.
OLD_CUSTOMER = {"candidates": [{"intent": "track_order", "score": 0.91}],
                "slots": {"order_id": "HP-105442", "email": None}, "rejected": None}  # fmt: skip
OLD_AGENT = {"agent_id": 3, "agent_name": "Sam Jansen", "handoff_id": 7, "answers": [12, 14],
             "draft": "edited"}  # fmt: skip


def test_an_old_customer_row_loads_with_defaults_for_what_it_lacks() -> None:
    understood = Understanding.of(OLD_CUSTOMER)
    assert understood.candidates == [{"intent": "track_order", "score": 0.91}]
    assert understood.slots.get("order_id") == "HP-105442"
    assert understood.documents is None  # not "found nothing": the export skips such rows
    assert understood.requests == []
    assert understood.quick_replies == []
    assert understood.bot_draft is None
    assert understood.draft_sources == []
    assert understood.stored() == OLD_CUSTOMER  # written back unchanged


def test_an_agent_reply_says_how_it_used_the_draft() -> None:
    understood = Understanding.of(OLD_AGENT)
    assert (understood.agent_name, understood.answers) == ("Sam Jansen", [12, 14])
    assert understood.draft_use == "edited"
    assert understood.bot_draft is None
    assert understood.draft_text is None


def test_a_value_of_the_wrong_shape_is_dropped_not_fatal() -> None:
    understood = Understanding.of({"candidates": "track_order", "agent_name": "Ann", "x": 1})
    assert understood.candidates == []
    assert understood.agent_name == "Ann"
    assert understood.stored() == {"agent_name": "Ann", "x": 1}  # unknown keys are kept
    assert Understanding.of(None).stored() == {}


def test_the_writers_store_the_keys_in_their_order() -> None:
    understanding = Understanding(candidates=[], slots={}, rejected=None)
    understanding.documents = [{"id": "faq:3", "text": "We ship to Belgium."}]
    understanding.draft = {"text": "We do.", "sources": []}
    stored = understanding.stored()
    assert list(stored) == ["candidates", "slots", "rejected", "documents", "draft"]
    assert stored["rejected"] is None  # set to None is stored, unlike what was never set


def test_old_rows_in_the_database_read_through_the_contract(db: Database) -> None:
    store = ConversationStore(db)
    conversation = store.load("web", "old-rows")
    rows = [{"conversation_id": conversation.id, "seq": n, "role": role, "text": "x",
             "understanding": raw, "sources": [], "created_at": utcnow()}
            for n, (role, raw) in enumerate([("customer", OLD_CUSTOMER), ("agent", OLD_AGENT),
                                              ("bot", {})], start=1)]  # fmt: skip
    with store.session() as session:
        session.execute(insert(Message), rows)
        session.commit()
    customer, agent, bot = store.history(conversation.id or 0)
    assert customer.understanding == OLD_CUSTOMER
    assert customer.understood.slots.get("order_id") == "HP-105442"
    assert agent.understood.answers == [12, 14]
    assert bot.understood.quick_replies == []
    assert bot.understood.stream is None
    store.revise(bot.id or 0, "y", Understanding(stream="m3"))
    assert store.history(conversation.id or 0)[-1].understanding == {"stream": "m3"}
