"""The knowledge base learns from agents: what a person answered when the bot could not becomes
a suggested FAQ entry, which a trainer accepts (and the bot then answers with) or rejects.

Real parts throughout: the session's MiniLM model, FAISS indexes in a temporary directory (a copy
of the session's, so only the new entry is embedded), SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from typer.testing import CliRunner

from engine.clock import utcnow
from engine.engine import Engine
from engine.models import Conversation, Message
from engine.store import ConversationStore
from engine.types import Inbound, Reply
from handoff.models import Agent, HandoffRecord
from kb.database import Database, open_database
from kb.embeddings import Embedder
from kb.importers import import_faq
from kb.knowledge import build_indexes, open_search
from kb.models import FaqEntry, Order
from kb.suggestion_models import FaqSuggestion
from learning import suggestions
from learning.suggestion_commands import suggestions_app
from learning.suggestion_server import KnowledgeReloader, SuggestionEndpoints, index_version
from learning.suggestions import (
    DecidedError,
    EntryError,
    UnknownSuggestionError,
    accept,
    pending,
    reject,
    suggest,
)
from shopclerk.command_services import CliServices
from shopclerk.database import open_db, upgrade
from shopclerk.settings import Settings, load_settings
from shopclerk.wiring import demo_file, load_knowledge

PERSONAL = re.compile(r"@|HP-?\d|100123|100245|\+31|Bob|Smith|Carla|Jansen|Anna", re.IGNORECASE)
PICKUP_ANSWER = (
    "Yes: you can collect your order at our warehouse in Utrecht, Monday to Friday 10:00-17:00. "
    "Choose 'Pick up' at checkout and bring the order confirmation."
)
runner = CliRunner()


@pytest.fixture
def encoder(engine: Engine) -> Embedder:
    """The session's model (loaded once per run)."""
    model = engine.stages.encoder
    assert isinstance(model, Embedder)
    return model


def _knowledge(db: Database, built_settings: Settings, index_dir: Path) -> None:
    """The demo FAQ, with a copy of the session's indexes (the same ids and hashes)."""
    import_faq(db, demo_file("faq.json"))
    shutil.copytree(built_settings.index_dir, index_dir)


@dataclass
class Handoffs:
    """Writes handed-off conversations as the engine and the agent console store them."""

    db: Database
    agent_id: int = 0

    def __post_init__(self) -> None:
        with Session(self.db) as session:
            agent = Agent(username="anna", display_name="Anna de Vries", password_hash="-")
            session.add(agent)
            session.commit()
            self.agent_id = agent.id or 0

    def handoff(
        self,
        key: str,
        asked: list[tuple[str, str]],  # (text, intent) of the customer's messages
        answer: str,
        *,
        reason: str = "no_grounded_answer",
        outcome: str = "resolved",
        draft: str = "own",
        bot_sources: list[dict[str, Any]] | None = None,  # the bot's reply to the first message
        name: str | None = None,
    ) -> list[int]:
        """One conversation handed to Anna, who answers it; the ids of its messages."""
        with Session(self.db) as session:
            conversation = Conversation(channel="web", key=key, customer_name=name)
            session.add(conversation)
            session.flush()
            cid, seq, messages = conversation.id or 0, 0, []
            for text, intent in asked:
                seq += 1
                messages.append(Message(conversation_id=cid, seq=seq, role="customer",
                                        text=text, intent=intent))  # fmt: skip
                if bot_sources is not None and seq == 1:
                    seq += 1
                    messages.append(Message(conversation_id=cid, seq=seq, role="bot",
                                            text="From the FAQ.", decision="reply",
                                            sources=bot_sources))  # fmt: skip
            handoff = HandoffRecord(conversation_id=cid, reason=reason, requested_by="bot",
                                    agent_id=self.agent_id, claimed_at=utcnow(),
                                    closed_at=utcnow(), outcome=outcome)  # fmt: skip
            session.add_all([*messages, handoff])
            session.flush()
            answers = [m.id for m in messages if m.role == "customer"
                       and m.intent != "contact_human_agent"]  # fmt: skip
            reply = Message(conversation_id=cid, seq=seq + 1, role="agent", text=answer,
                            understanding={"agent_id": self.agent_id,
                                           "agent_name": "Anna de Vries",
                                           "handoff_id": handoff.id, "answers": answers,
                                           "draft": draft, "draft_text": None})  # fmt: skip
            session.add(reply)
            session.commit()
            return [m.id or 0 for m in [*messages, reply]]


def _store_handoffs(desk: Handoffs) -> None:
    """Two customers ask the same new question; the rest is for the rules. The customer asking
    for a label is known only by the order they name."""
    with Session(desk.db) as session:
        session.add(
            Order(
                order_id="HP-100245",
                customer_name="Carla Jansen",
                status="shipped",
                customer_email="carla.jansen@example.com",
                placed_at=utcnow(),
            )
        )
        session.commit()
    desk.handoff("pickup-1", [("Hi! Can I pick up my order at your warehouse in Utrecht? It's "
                               "order HP-100123", "delivery_options")],
                 "Hi Bob, sure! You can pick up at our warehouse. Cheers, Anna",
                 name="Bob Smith")  # fmt: skip
    desk.handoff("pickup-2", [("hey is it possible to collect my order at your warehouse myself?",
                               "unsure"), ("can I talk to a person", "contact_human_agent")],
                 PICKUP_ANSWER, reason="customer_asked")  # fmt: skip
    desk.handoff("paypal", [("hello, do you accept paypal?", "check_payment_methods")],
                 "Yes, PayPal is fine: you pay when you place the order.",
                 reason="low_confidence")  # fmt: skip
    desk.handoff("draft-only", [("How long does delivery to Austria take?", "delivery_options")],
                 "Delivery to Austria takes 3 to 5 business days.", draft="sent")  # fmt: skip
    desk.handoff("label", [("Can you send me a printed return label by post? My order is "
                            "HP-100245", "out_of_scope")],
                 "Hi! I've emailed a return label for order HP-100245 to "
                 "carla.jansen@example.com, Carla. We can't post printed labels, but any PostNL "
                 "point prints it for you from the QR code; questions: call +31 20 123 4567. As "
                 "Anna said: Jansen is the name on the label. Best, Anna",
                 reason="repeated_failure")  # fmt: skip
    desk.handoff(
        "unresolved",
        [("Do you sell spare straps for backpacks?", "product_info")],
        "I'm afraid we don't sell spare straps separately.",
        outcome="unresolved",
    )
    desk.handoff("bot-knew", [("what's your phone number?", "contact_details"),
                              ("I want a human", "contact_human_agent")],
                 "You can call us on weekdays from 9 to 5.", reason="customer_asked",
                 bot_sources=[{"kind": "faq", "id": "contact-phone"}])  # fmt: skip


def _suggestions(db: Database) -> dict[str, FaqSuggestion]:
    """Pending suggestions by the first word of what they are about."""
    found = {}
    for suggestion in pending(db):
        about = "pickup" if "warehouse" in suggestion.question else "label"
        assert "label" in suggestion.question or about == "pickup", suggestion.question
        found[about] = suggestion
    return found


def test_agents_answers_become_suggestions_without_anyones_details(
    db: Database, encoder: Embedder, built_settings: Settings, tmp_path: Path
) -> None:
    desk, index_dir = Handoffs(db), tmp_path / "index"
    _knowledge(db, built_settings, index_dir)
    _store_handoffs(desk)

    report = suggest(db, encoder, index_dir)

    assert (report.pairs, len(report.created), report.refreshed) == (4, 2, [])
    assert report.skipped == {"draft_sent": 1, "not_resolved": 1, "bot_could_answer": 1}
    [(question, key, similarity)] = report.covered
    assert (question, key) == ("Do you accept paypal?", "payment-paypal")
    assert similarity >= 0.85
    with Session(db) as session:
        covered = session.exec(select(FaqSuggestion).where(FaqSuggestion.status == "covered"))
        assert [(c.question, c.faq_key) for c in covered] == [(question, "payment-paypal")]
    found = _suggestions(db)
    pickup, label = found["pickup"], found["label"]
    assert pickup.cluster_size == 2
    assert {pickup.question, *pickup.alternates} == {
        "Can I pick up my order at your warehouse in Utrecht? It's your order",
        "Is it possible to collect my order at your warehouse myself?",
    }
    assert pickup.answer == PICKUP_ANSWER  # the more recent of the two agents' answers
    assert label.cluster_size == 1
    assert label.answer.startswith("I've emailed a return label for your order to your email "
                                   "address. We can't post printed labels")  # fmt: skip
    assert "call your phone number. As said: is the name on the label." in label.answer
    for suggestion in (pickup, label):
        text = json.dumps([suggestion.question, suggestion.alternates, suggestion.answer])
        assert not PERSONAL.search(text), text
    assert "Austria" not in json.dumps([s.question for s in found.values()])

    again = suggest(db, encoder, index_dir)
    assert (again.created, again.refreshed, again.covered) == ([], [], [])
    assert again.skipped["used"] == 4
    assert len(pending(db)) == 2

    desk.handoff(
        "pickup-3",
        [("Can I pick up my order from your warehouse?", "delivery_options")],
        "Yes, at our warehouse in Utrecht on weekdays from 10:00 to 17:00.",
    )
    grown = suggest(db, encoder, index_dir)
    assert grown.refreshed == [pickup.id]
    assert grown.created == []
    refreshed = _suggestions(db)["pickup"]
    assert refreshed.cluster_size == 3
    assert "Can I pick up my order from your warehouse?" in refreshed.alternates
    assert refreshed.answer.startswith("Yes, at our warehouse in Utrecht on weekdays")


async def test_an_accepted_suggestion_is_found_and_answered_with(
    encoder: Embedder, engine: Engine, built_settings: Settings, tmp_path: Path
) -> None:
    db, index_dir = _sqlite(tmp_path), tmp_path / "index"
    _knowledge(db, built_settings, index_dir)
    _store_handoffs(Handoffs(db))
    suggest(db, encoder, index_dir)
    pickup, label = _suggestions(db)["pickup"], _suggestions(db)["label"]
    server = Engine(replace(engine.stages), ConversationStore(db))  # the session's, to reload
    on_engine_thread: list[Callable[[], None]] = []

    async def run(fn: Callable[[], None]) -> None:
        on_engine_thread.append(fn)
        fn()

    reloader = KnowledgeReloader(server, index_dir, partial(load_knowledge, db, index_dir), run)
    paraphrase = "Could I come and get my order at the warehouse myself?"
    before = _answer(server, "before", paraphrase)

    entry = accept(db, pickup.id or 0, question="Can I pick up my order at your warehouse?",
                   answer=PICKUP_ANSWER.replace("Yes:", "Yes,"), by="agent:1")  # fmt: skip
    version = index_version(index_dir)
    [products, faq] = build_indexes(db, index_dir, encoder)

    assert (faq.added, faq.updated, products.added, products.updated) == (1, 0, 0, 0)
    assert entry.key == "can-i-pick-up-my-order-at-your-warehouse-" + entry.key[-6:]
    assert entry.alternates == [pickup.question, *pickup.alternates]
    with Session(db) as session:
        stored = session.exec(select(FaqEntry).where(FaqEntry.key == entry.key)).one()
        decided = session.get(FaqSuggestion, pickup.id)
    assert stored.answer.startswith("Yes, you can collect your order at our warehouse")
    assert decided is not None
    assert (decided.status, decided.faq_key, decided.decided_by) == (
        "accepted", entry.key, "agent:1")  # fmt: skip
    search = open_search(db, index_dir)
    [hit, *_] = search.search("faq", paraphrase, encoder.encode([paraphrase])[0])
    assert hit.key == entry.key
    assert index_version(index_dir) != version

    assert await reloader.reload_if_changed() is True
    assert await reloader.reload_if_changed() is False

    assert len(on_engine_thread) == 1
    after = _answer(server, "after", paraphrase)
    assert isinstance(after, Reply)
    assert after.text == stored.answer != before.text
    assert after.sources[0].id == entry.key
    assert entry.key not in engine.stages.lookup.catalog.by_faq_key  # the session's is untouched
    with pytest.raises(DecidedError):
        accept(db, pickup.id or 0)
    with pytest.raises(EntryError, match="already has an entry"):
        accept(db, label.id or 0, key=entry.key)
    assert reject(db, label.id or 0).status == "rejected"
    with pytest.raises(DecidedError, match="rejected already"):
        reject(db, label.id or 0)
    with pytest.raises(UnknownSuggestionError):
        reject(db, 999)
    assert pending(db) == []


def _sqlite(tmp_path: Path) -> Database:
    db = open_database(f"sqlite:///{tmp_path / 'learning.db'}")
    upgrade(db)
    return db


def _answer(engine: Engine, key: str, text: str) -> Any:
    return engine.handle(Inbound(conversation_key=key, text=text)).decision


def test_the_console_lists_accepts_and_rejects(
    db: Database,
    encoder: Embedder,
    built_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_dir = tmp_path / "index"
    _knowledge(db, built_settings, index_dir)
    _store_handoffs(Handoffs(db))
    monkeypatch.setattr(suggestions, "CHUNK", 2)  # a long history is read a chunk at a time
    assert len(suggest(db, encoder, index_dir).created) == 2
    changed: list[bool] = []

    async def faq_changed() -> None:
        changed.append(True)

    endpoints = SuggestionEndpoints(db, index_dir, encoder, faq_changed)
    agent = Agent(id=7, username="tess", display_name="Tess", password_hash="-")

    def as_agent(endpoint: Callable[..., Any]) -> Callable[[Request], Any]:
        async def call(request: Request) -> Response:
            response: Response = await endpoint(request, agent)
            return response

        return call

    app = Starlette(routes=[
        Route("/api/suggestions", as_agent(endpoints.pending)),
        Route("/api/suggestions/{sid:int}/accept", as_agent(endpoints.accept), methods=["POST"]),
        Route("/api/suggestions/{sid:int}/reject", as_agent(endpoints.reject), methods=["POST"]),
    ])  # fmt: skip
    with TestClient(app) as client:
        listed = client.get("/api/suggestions").json()["suggestions"]
        pickup, label = sorted(listed, key=lambda s: -s["cluster_size"])
        edited = {"question": "Can I collect my order at your warehouse?",
                  "answer": PICKUP_ANSWER, "alternates": ["pick up at the warehouse"]}  # fmt: skip
        accepted = client.post(f"/api/suggestions/{pickup['id']}/accept", json=edited)
        twice = client.post(f"/api/suggestions/{pickup['id']}/accept", json=edited)
        bad = client.post(f"/api/suggestions/{label['id']}/accept", json={"alternates": "x"})
        rejected = client.post(f"/api/suggestions/{label['id']}/reject")
        unknown = client.post("/api/suggestions/999/reject")
        left = client.get("/api/suggestions").json()["suggestions"]

    assert accepted.status_code == 200, accepted.text
    faq = accepted.json()["faq"]
    assert (faq["question"], faq["alternates"]) == (edited["question"], edited["alternates"])
    assert accepted.json()["suggestion"]["status"] == "accepted"
    assert accepted.json()["suggestion"]["decided_by"] == "agent:7"
    assert changed == [True]
    assert faq["key"] in open_search(db, index_dir).catalog.by_faq_key
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "decided")
    assert bad.status_code == 400
    assert (rejected.status_code, rejected.json()["suggestion"]["status"]) == (200, "rejected")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_suggestion")
    assert left == []


@dataclass(frozen=True)
class SessionModel(CliServices):
    """The command line's settings, with the embedding model the session loaded."""

    loaded: Embedder | None = None

    def encoder(self) -> Embedder:
        return self.loaded or super().encoder()


def test_the_trainer_reviews_on_the_command_line(
    encoder: Embedder, built_settings: Settings, tmp_path: Path
) -> None:
    settings = load_settings(tmp_path / "data")
    db = open_db(settings, migrate=True)
    _knowledge(db, built_settings, settings.index_dir)
    _store_handoffs(Handoffs(db))
    invoke = partial(runner.invoke, suggestions_app, obj=SessionModel(settings, encoder))

    refreshed = invoke(["refresh"])
    listed = invoke(["list"])
    ids = [int(i) for i in re.findall(r"^\s+(\d+)\s+×", listed.stdout, re.MULTILINE)]
    shown = invoke(["show", str(ids[0])])
    editor = "sed -i -e 's/^Yes: you can/Yes, you can/' -e '/^- Is it possible/d'"
    accepted = invoke(["accept", str(ids[0]), "--edit", "--key", "warehouse-pickup",
                                   "--question", "Can I collect my order at your warehouse?"],
                             env={"EDITOR": editor})  # fmt: skip
    rejected = invoke(["reject", str(ids[1])])
    unknown = invoke(["accept", "999"])

    assert refreshed.exit_code == 0, refreshed.output
    assert "4 answered questions: 2 new suggestions, 0 refreshed, 1 already covered" in (
        refreshed.stdout)  # fmt: skip
    assert "covered: 'Do you accept paypal?' is FAQ payment-paypal" in refreshed.stdout
    assert "×2" in listed.stdout
    assert "2 pending" in listed.stdout
    assert "Is it possible to collect my order at your warehouse myself?" in shown.stdout
    assert accepted.exit_code == 0, accepted.output
    assert "FAQ entry warehouse-pickup added: Can I collect my order at your warehouse?" in (
        accepted.stdout)  # fmt: skip
    assert "faq index: 1 added" in accepted.stdout
    entry = open_search(db, settings.index_dir).catalog.by_faq_key["warehouse-pickup"]
    assert entry.answer.startswith("Yes, you can collect")
    assert entry.alternates == ["Can I pick up my order at your warehouse in Utrecht? It's your "
                                "order"]  # fmt: skip
    assert rejected.exit_code == 0
    assert f"suggestion {ids[1]} rejected" in rejected.stdout
    assert unknown.exit_code == 1
    assert "there is no suggestion 999" in unknown.output
    assert "0 pending" in invoke(["list"]).stdout
