"""Memory per visitor (issue 14): what a serving process keeps per visitor, session or address
goes away after the visitor does, or stays within a bound. (`bench/soak_visits.py` measures the
same over 20,000 visits.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

import handoff.tickets
from channels.slack.locks import KeyedLocks
from channels.web.channel import CHANNEL
from handoff.rates import RateLimit
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import fresh_settings
from tests.support.frames import receive

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
