"""Attacks on the widget's websocket and REST API (issue 11), each written as the attacker
would try it. The test client's address is set per test (as a trusted proxy would), so each
attack has the per-address limits to itself."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from engine.audit import IDENTITY_REJECTED, SecurityLog
from engine.models import Conversation
from engine.store import ConversationStore
from handoff.rates import RateLimit
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import fresh_settings
from tests.support.frames import receive
from tests.support.live_server import run_server

SECRET = "s" * 40
HARRY = "harryhughes@example.org"
Frame = dict[str, Any]


class AtAddress:
    """The app, with each request's client address taken from an `x-test-address` header (what
    the proxy-aware server does with X-Forwarded-For), so every test is its own client."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            given = dict(scope["headers"]).get(b"x-test-address")
            if given:
                scope = {**scope, "client": (given.decode(), 40000)}
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def app(built_settings: Settings, models: Models) -> Iterator[tuple[Starlette, TestClient]]:
    settings = built_settings.model_copy(update={
        "identity_secret": SecretStr(SECRET), "ws_connections_per_address": 3,
        "ws_sessions_per_address_per_minute": 5, "ws_messages_per_address_per_minute": 8,
    })  # fmt: skip
    inner = create_app(settings, models=models)
    with TestClient(AtAddress(inner)) as client:
        yield inner, client


@pytest.fixture
def client(app: tuple[Starlette, TestClient]) -> TestClient:
    return app[1]


@pytest.fixture
def address() -> dict[str, str]:
    return {"x-test-address": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}


def hello(ws: WebSocketTestSession, session: str | None = None, last_seq: int = 0,
          **fields: Any) -> Frame:  # fmt: skip
    """The `welcome` (or `error`); frames before it (a replay of an earlier hello) are skipped."""
    ws.send_json({"v": 1, "type": "hello", "session": session, "last_seq": last_seq, **fields})
    while True:
        frame: Frame = receive(ws)
        if frame["type"] in ("welcome", "error"):
            return frame


def say(ws: WebSocketTestSession, text: str) -> list[Frame]:
    """Send a message; the frames up to the bot's reply or an error."""
    ws.send_json({"v": 1, "type": "message", "client_id": str(uuid.uuid4()), "text": text})
    frames = []
    while True:
        frames.append(receive(ws))
        if frames[-1]["type"] == "error" or (
            frames[-1]["type"] == "message" and frames[-1]["role"] == "bot"
        ):
            return frames


def closed_with(ws: WebSocketTestSession) -> int:
    try:
        for _ in range(500):
            receive(ws)
    except WebSocketDisconnect as closed:
        return closed.code
    raise AssertionError("the socket is still open")


def signed(customer_id: str, email: str, **extra: Any) -> Frame:
    """An identity as the shop's backend signs it (docs/websocket-protocol.md)."""
    message = f"{customer_id}\n{email}".encode()
    signature = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"customer_id": customer_id, "email": email, "signature": signature, **extra}


# -- nobody stalls anybody ------------------------------------------------------------------------


class NeverReads:
    """A raw websocket client that sends and never reads a byte (its receive buffer is tiny)."""

    def __init__(self, url: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        host, port = url.split("//")[1].split("/")[0].split(":")
        self.sock.connect((host, int(port)))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)  # the handshake only: not one byte after it
        self.protocol.receive_data(response)
        self.sock.settimeout(3)

    def send(self, frame: Frame | str) -> None:
        self.protocol.send_text((frame if isinstance(frame, str) else json.dumps(frame)).encode())
        self._flush()

    def _flush(self) -> None:
        self.sock.sendall(b"".join(self.protocol.data_to_send()))


@pytest.mark.slow
async def test_a_tab_that_never_reads_does_not_hold_up_another_customers_handoff(
    built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    settings = fresh_settings(built_settings, tmp_path)
    db = open_database(settings.sqlalchemy_url)
    with run_server(create_app(settings, models=models)) as base:
        url = base.replace("http", "ws") + "/ws"

        async with connect(url) as ws, asyncio.timeout(30):
            await ws.send(json.dumps({"v": 1, "type": "hello", "session": None}))
            attacker = str(json.loads(await ws.recv())["session"])
            await ws.send(json.dumps({"v": 1, "type": "message", "client_id": "a",
                                      "text": "I want to talk to a person"}))  # fmt: skip
            while json.loads(await ws.recv()).get("state") != "offline":
                pass
        with Session(db) as s:
            cid = s.exec(select(Conversation.id).where(Conversation.key == attacker)).one()
        store = ConversationStore(db)
        for n in range(150):  # a long chat: every replay of it is some 300 kB
            assert cid is not None
            store.append(cid, "customer", f"{n} " + "x" * 2000)

        # The attack: hello with last_seq 0 again and again, never reading, until the server
        # stops reading this socket too (it is stuck sending to it, or has dropped it).
        stuck = NeverReads(url)
        padded_ping = '{"v": 1, "type": "ping"}' + " " * 60_000
        try:
            for _ in range(2000):
                stuck.send({"v": 1, "type": "hello", "session": attacker, "last_seq": 0})
                stuck.send(padded_ping)
        except OSError:  # timed out (the server no longer reads) or reset (it was dropped)
            pass

        async with connect(url) as ws:
            await ws.send(json.dumps({"v": 1, "type": "hello", "session": None}))
            await ws.send(json.dumps({"v": 1, "type": "message", "client_id": "b",
                                      "text": "can I talk to a human please"}))  # fmt: skip
            async with asyncio.timeout(30):  # generous: it comes at once, or never
                while (status := json.loads(await ws.recv()))["type"] != "handoff":
                    pass
        stuck.sock.close()
    db.dispose()
    assert status["state"] == "offline"


def test_a_replay_is_bounded_and_says_where_it_starts(
    client: TestClient, address: dict[str, str], built_settings: Settings
) -> None:
    with client.websocket_connect("/ws", headers={**address}) as ws:
        session = hello(ws)["session"]
    db = open_database(built_settings.sqlalchemy_url)
    store = ConversationStore(db)
    cid = store.load("web", session).id
    assert cid is not None
    for n in range(205):
        store.append(cid, "customer", f"message {n + 1}")
    db.dispose()
    with client.websocket_connect("/ws", headers={**address}) as ws:
        welcome = hello(ws, session, last_seq=0)
        assert (welcome["last_seq"], welcome["replay_after"]) == (205, 5)
        replayed = [receive(ws)["seq"] for _ in range(200)]
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"  # nothing more was replayed
    assert replayed == list(range(6, 206))


def test_hellos_on_one_socket_are_limited(client: TestClient, address: dict[str, str]) -> None:
    with client.websocket_connect("/ws", headers={**address}) as ws:
        session = hello(ws)["session"]
        for _ in range(9):
            assert hello(ws, session)["type"] == "welcome"
        refused = hello(ws, session)
        assert refused["code"] == "too_many_hellos"
        assert closed_with(ws) == 4429


def test_hellos_from_one_address_are_limited_across_its_sockets(
    app: tuple[Starlette, TestClient], address: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many sockets of one script, each under the per-socket limit, each replaying history."""
    inner, client = app
    monkeypatch.setattr(inner.state.web, "_address_hellos", RateLimit(4))
    with client.websocket_connect("/ws", headers={**address}) as ws:
        session = hello(ws)["session"]
        for _ in range(3):
            assert hello(ws, session)["type"] == "welcome"
    with client.websocket_connect("/ws", headers={**address}) as ws:  # a fresh socket
        assert hello(ws, session)["code"] == "too_many_hellos"
        assert closed_with(ws) == 4429
    other = {"x-test-address": "192.0.2.99"}
    with client.websocket_connect("/ws", headers=other) as ws:  # someone else is not held up
        assert hello(ws, session)["type"] == "welcome"


def test_a_socket_that_never_says_hello_is_closed_and_frees_its_slot(
    app: tuple[Starlette, TestClient], address: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inner, client = app
    web = inner.state.web
    monkeypatch.setattr(web, "config", replace(web.config, hello_timeout_seconds=0.2))
    for _ in range(2):  # the address's three slots are all taken, then all free again
        with ExitStack() as stack:
            silent = [stack.enter_context(client.websocket_connect("/ws", headers={**address}))
                      for _ in range(3)]  # fmt: skip
            for ws in silent:
                assert receive(ws)["code"] == "hello_timeout"
                assert closed_with(ws) == 4408


# -- limits per address ---------------------------------------------------------------------------


def test_a_fresh_session_is_no_fresh_budget_for_new_sessions(
    client: TestClient, address: dict[str, str]
) -> None:
    with client.websocket_connect("/ws", headers={**address}) as ws:
        for _ in range(5):
            assert hello(ws)["type"] == "welcome"
        refused = hello(ws)
        assert refused["code"] == "rate_limited"
        assert refused["retry_after"] > 0
    rest = client.post("/api/sessions", headers={**address})
    assert rest.status_code == 429
    other = client.post("/api/sessions", headers={"x-test-address": "10.255.0.1"})
    assert other.status_code == 201  # another client is not held back


def test_a_fresh_session_is_no_fresh_budget_for_messages(
    client: TestClient, address: dict[str, str]
) -> None:
    with client.websocket_connect("/ws", headers={**address}) as ws:
        first = hello(ws)["session"]
        for n in range(5):
            assert say(ws, f"hello {n}")[-1]["type"] == "message"
        hello(ws)  # a new session: the per-session budget is fresh, the address's is not
        for n in range(3):
            assert say(ws, f"again {n}")[-1]["type"] == "message"
        assert say(ws, "one more")[-1]["code"] == "rate_limited"
    rest = client.post(f"/api/sessions/{first}/messages", headers={**address},
                       json={"client_id": "r", "text": "and by REST"})  # fmt: skip
    assert rest.status_code == 429
    assert rest.json()["error"]["code"] == "rate_limited"


# -- frames that are not what they should be ------------------------------------------------------


def test_huge_numbers_binary_and_broken_frames_get_an_error_and_the_socket_stays(
    client: TestClient, address: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/ws", headers={**address}) as ws:
        session = hello(ws)["session"]
        attacks = [
            f'{{"v": 1, "type": "hello", "session": "{session}", "last_seq": {10**400}}}',
            '{"v": 1, "type": "satisfaction", "episode": 1e999, "score": 3}',
            f'{{"v": 1, "type": "feedback", "message_id": {10**30}, "rating": "up"}}',
            f'{{"v": 1, "type": "hello", "last_seq": {"9" * 5000}}}',
            "[" * 50_000,
            '{"v": 1, "type": "ping", "colour": "red"}',
            '{"v": 1, "type": "hello", "session": 5}',
            "{broken",
        ]
        for raw in attacks:
            ws.send_text(raw)
            assert receive(ws)["code"] == "bad_frame", raw[:60]
        ws.send_bytes(b"\x00\x01binary")
        assert receive(ws)["code"] == "bad_frame"
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_an_unexpected_failure_in_a_frame_is_answered_and_the_socket_stays(
    app: tuple[Starlette, TestClient], address: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    inner, client = app

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug somewhere below the channel")

    monkeypatch.setattr(inner.state.desk, "customer_typing", broken)
    with client.websocket_connect("/ws", headers={**address}) as ws:
        hello(ws)
        ws.send_json({"v": 1, "type": "typing", "on": True})
        assert receive(ws)["code"] == "server_error"
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"
    assert "a widget frame failed" in caplog.text


# -- signed shoppers ------------------------------------------------------------------------------


def test_a_signed_shopper_owns_their_session_and_nobody_inherits_it(
    client: TestClient, address: dict[str, str]
) -> None:
    harry = signed("c-105", HARRY, name="Harry Hughes")
    with client.websocket_connect("/ws", headers={**address}) as ws:
        welcome = hello(ws, identity=harry)
        assert welcome["identity"] == "verified"
        session = welcome["session"]
        reply = say(ws, "where is my order?")[-1]
    # The shop vouched for Harry: his orders, without asking him to prove anything.
    assert "HP-105442" in reply["text"] + " ".join(reply["quick_replies"])
    with client.websocket_connect("/ws", headers={**address}) as ws:
        assert hello(ws, session, identity=harry)["session"] == session  # Harry, back
        anonymous = hello(ws, session)  # the next person at that computer, or a session thief
        assert anonymous["session"] != session
        assert anonymous["identity"] is None
        someone_else = hello(ws, session, identity=signed("c-2", "other@example.org"))
        assert someone_else["session"] not in (session, anonymous["session"])
    history = f"/api/sessions/{session}/messages"
    assert client.get(history, headers={**address}).status_code == 403
    assert client.get(history, headers={**address}).json()["error"]["code"] == "identity_required"
    as_harry = client.get(history, headers={**address, "x-shopclerk-identity": json.dumps(harry)})
    assert as_harry.json()["messages"][0]["text"] == "where is my order?"
    post = client.post(history, headers={**address}, json={"client_id": "x", "text": "hi"})
    assert post.status_code == 403
    post = client.post(history, headers={**address},
                       json={"client_id": "x", "text": "hi", "identity": harry})  # fmt: skip
    assert post.status_code == 200


def test_a_forged_or_unsigned_identity_is_ignored_and_recorded(
    client: TestClient, address: dict[str, str], built_settings: Settings
) -> None:
    forged = {**signed("c-1", "mallory@example.org"), "email": HARRY}
    unsigned = {"customer_id": "c-105", "email": HARRY}
    with client.websocket_connect("/ws", headers={**address}) as ws:
        for identity in (forged, unsigned):
            welcome = hello(ws, identity=identity)
            assert welcome["identity"] == "rejected"
    # Nothing was bound to Harry: the session is as anonymous as any.
    session = welcome["session"]
    assert client.get(f"/api/sessions/{session}/messages", headers={**address}).status_code == 200
    rest = client.post("/api/sessions", headers={**address, "x-shopclerk-identity": "not.a.jwt"})
    assert rest.json()["identity"] == "rejected"
    db = open_database(built_settings.sqlalchemy_url)
    log = SecurityLog(db)
    rejected = log.count(IDENTITY_REJECTED, timedelta(minutes=5), address=address["x-test-address"])
    db.dispose()
    assert rejected == 3


def test_a_jwt_identity_must_be_signed_and_short_lived(
    client: TestClient, address: dict[str, str]
) -> None:
    now = int(time.time())

    def token(secret: str = SECRET, lifetime: int = 600) -> str:
        claims = {"sub": "c-105", "email": HARRY, "name": "Harry", "exp": now + lifetime}
        return jwt.encode(claims, secret, algorithm="HS256")

    with client.websocket_connect("/ws", headers={**address}) as ws:
        assert hello(ws, identity={"token": token()})["identity"] == "verified"
        assert hello(ws, identity={"token": token("x" * 40)})["identity"] == "rejected"
        assert hello(ws, identity={"token": token(lifetime=30 * 86_400)})["identity"] == (
            "rejected"
        )  # fmt: skip
        assert hello(ws, identity={"token": token(lifetime=-120)})["identity"] == "rejected"
