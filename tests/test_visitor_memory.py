"""Memory per visitor (issue 14): what a serving process keeps per visitor, session or address
goes away after the visitor does, or stays within a bound. (`bench/soak_visits.py` measures the
same over 20,000 visits.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

import handoff.sweeper
import handoff.tickets
from channels.slack.locks import KeyedLocks
from channels.web.channel import CHANNEL
from handoff.rates import RateLimit
from handoff.tickets import Tickets
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import (
    AgentClient,
    add_agent,
    asks_for_a_person,
    fresh_settings,
    handoff_state,
    is_msg,
    say,
    widget,
)
from tests.support.frames import receive, until

RATES = ("_rates", "_address_rates", "_new_sessions", "_address_hellos")


class FromAddress:
    """The app, with each connection's client address taken from an `x-test-address` header
    (what the proxy-aware server does with X-Forwarded-For): every visitor its own address."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope.get("headers", [])).get(b"x-test-address")
        if given:
            scope = {**scope, "client": (given.decode(), 40000)}
        await self.app(scope, receive, send)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(built_settings: Settings, models: Models, tmp_path: Path) -> Iterator[Starlette]:
    inner = create_app(fresh_settings(built_settings, tmp_path), models=models)
    with TestClient(FromAddress(inner)) as client:
        inner.state.client = client
        yield inner


def visit(client: TestClient, n: int, text: str | None) -> None:
    """Visitor `n` opens the chat, maybe says something, and leaves."""
    with client.websocket_connect("/ws", headers={"x-test-address": f"10.9.0.{n}"}) as ws:
        ws.send_json({"v": 1, "type": "hello", "session": None, "last_seq": 0})
        assert receive(ws)["type"] == "welcome"
        if text is not None:
            ws.send_json({"v": 1, "type": "message", "client_id": str(uuid.uuid4()),
                          "text": text})  # fmt: skip
            while receive(ws)["type"] != "ack":
                pass


def test_visitors_leave_nothing_behind_once_their_minute_is_over(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    web, clock = app.state.web, Clock()
    for name in RATES:
        monkeypatch.setattr(web, name, RateLimit(getattr(web, name).budget, clock=clock))
    for n in range(30):
        visit(app.state.client, n, "do you ship to oslo?" if n % 3 == 0 else None)
    assert not web._sessions  # every socket gone with its visitor
    assert len(web._connections) == 0
    assert len(web._address_hellos) == 30  # within the minute: still counted
    clock.now += 61
    visit(app.state.client, 200, "thanks")
    assert {name: len(getattr(web, name)) for name in RATES} == dict.fromkeys(RATES, 1)


def test_conversation_addresses_are_kept_within_a_bound(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handoff.tickets, "ADDRESSES_KEPT", 3)
    tickets, store = app.state.desk._tickets, app.state.web._store
    keys = [f"memory-{n}" for n in range(8)]
    ids = [store.load(CHANNEL, key).id for key in keys]
    for cid, key in zip(ids, keys, strict=True):
        assert tickets.address(cid) == (CHANNEL, key)
    assert len(tickets._addresses) == 3
    assert tickets.address(ids[0]) == (CHANNEL, keys[0])  # forgotten, read again


async def test_slack_keeps_a_conversation_lock_only_while_it_is_wanted() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    inside, order = [], []

    async def deliver(n: int) -> None:
        async with locks["T1:C1:1700000000.0001"]:
            inside.append(n)
            assert len(inside) == 1  # one at a time per conversation
            order.append(n)
            await asyncio.sleep(0)
            inside.remove(n)

    await asyncio.gather(*(deliver(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]  # in the order they came
    assert len(locks) == 0


# -- conversations with people: forgotten once a person no longer has them ----------------------


def with_people(app: Starlette) -> set[tuple[str, str]]:
    return set(app.state.desk._customers._with_people)


def test_a_handoff_nobody_took_is_forgotten_when_the_customer_ends_the_chat(app: Starlette) -> None:
    with app.state.client.websocket_connect("/ws") as customer:
        session = widget(customer)
        say(customer, "I want to talk to a person")
        until(customer, handoff_state("offline"))  # nobody online: a ticket, in the queue
        assert with_people(app) == {(CHANNEL, session)}
        customer.send_json({"v": 1, "type": "end"})
        until(customer, lambda f: f["type"] == "survey")
        assert with_people(app) == set()
        say(customer, "which payment methods do you accept?")
        assert "Klarna" in until(customer, is_msg("bot"))["text"]


def test_a_change_of_owner_whose_news_was_lost_is_read_from_the_database(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bus tells only whoever listens at the moment: a process reconnecting to Redis misses
    "the bot has it again" from another process. It reads the owners again now and then."""
    monkeypatch.setattr(handoff.sweeper, "RESYNC_EVERY", 0.0)  # each tick (a second)
    desk = app.state.desk
    with app.state.client.websocket_connect("/ws") as customer:
        session = widget(customer)
        say(customer, "I want to talk to a person")
        until(customer, handoff_state("offline"))
        cid = desk.conversation_id(CHANNEL, session)
        other_process = Tickets(desk._tickets.db, app.state.web._store)
        assert other_process.withdraw(cid).change.done  # and its news never came
        deadline = time.monotonic() + 10
        while with_people(app):
            assert time.monotonic() < deadline, "the process still thinks a person has it"
            time.sleep(0.05)
        say(customer, "which payment methods do you accept?")
        typing = until(customer, lambda f: f["type"] == "typing" and f["on"])
        assert typing["who"] == "bot"  # shown the bot answering again
        assert "Klarna" in until(customer, is_msg("bot"))["text"]


def test_a_handoff_an_agent_resolved_is_forgotten_and_the_bot_answers_again(
    app: Starlette,
) -> None:
    settings = app.state.settings
    agent = AgentClient(app.state.client, add_agent(settings, "Anna"))
    with agent.console() as console, app.state.client.websocket_connect("/ws") as customer:
        cid = asks_for_a_person(console, customer, "I want to talk to a person")
        agent.post(f"/agent/api/conversations/{cid}/claim")
        until(customer, handoff_state("agent"))
        assert len(with_people(app)) == 1
        agent.post(f"/agent/api/conversations/{cid}/resolve", {"outcome": "resolved"})
        until(customer, handoff_state("bot"))
        assert with_people(app) == set()
        say(customer, "which payment methods do you accept?")
        assert until(customer, lambda f: f["type"] == "typing" and f["on"])["who"] == "bot"
        assert "Klarna" in until(customer, is_msg("bot"))["text"]
