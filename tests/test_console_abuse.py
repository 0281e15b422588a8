"""The agent console attacked (issue 11): a console that never reads, password guessing, a
login flood, a stolen cookie after logout, frames no console sends. Against a real uvicorn
server where the attack needs real sockets, Starlette's test client elsewhere."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient
from websockets.asyncio.client import ClientConnection, connect

import handoff.agents
from handoff.logins import BusyError, LoginGate, ThrottledError
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support import frames
from tests.support.desk import PASSWORD, AgentClient, add_agent, fresh_settings, guess_on
from tests.support.frames import until
from tests.support.live_server import run_server

WAIT = 30.0  # seconds: generous; a stalled server never answers, a working one at once


class CountingHasher(PasswordHasher):
    """The real Argon2 hasher, counting how many passwords it checked."""

    lock = threading.Lock()
    checks = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with CountingHasher.lock:
            CountingHasher.checks += 1
        return bool(super().verify(hash, password))


@pytest.fixture
def settings(built_settings: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    CountingHasher.checks = 0
    monkeypatch.setattr(handoff.agents, "PasswordHasher", CountingHasher)
    return fresh_settings(built_settings, tmp_path)


@pytest.fixture
def server(settings: Settings, models: Models) -> Iterator[str]:
    with run_server(create_app(settings, models=models)) as url:
        yield url


async def logged_in(url: str, username: str, password: str = PASSWORD) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url, timeout=WAIT)
    answer = await login(http, username, password)
    assert answer.status_code == 200, answer.text
    http.headers["x-csrf-token"] = answer.json()["csrf"]
    return http


async def login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    csrf = (await http.get("/agent/api/session")).json()["csrf"]
    body = {"username": username, "password": password}
    return await http.post("/agent/api/login", json=body, headers={"x-csrf-token": csrf})


def cookie_header(http: httpx.AsyncClient) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())}


async def never_reading_console(url: str, http: httpx.AsyncClient) -> asyncio.StreamWriter:
    """A console that opens and then never reads a byte: a tiny receive buffer, no reads."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    _, writer = await asyncio.open_connection(sock=sock, limit=1024)
    cookie = cookie_header(http)["cookie"]
    writer.write(
        f"GET /agent/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    return writer


async def next_frame(ws: ClientConnection, type_: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame["type"] == type_:
                return frame


async def flood_pings(writer: asyncio.StreamWriter) -> None:
    """Ask for pongs, many at a time, and never read them: the answers pile up."""
    ping = b'{"type": "ping"}'
    frame = bytes([0x81, 0x80 | len(ping)]) + bytes(4) + ping  # masked with a zero mask
    try:
        for _ in range(100):
            writer.write(frame * 2000)
            await writer.drain()
    except OSError:
        pass  # dropped for not reading: what should happen


async def test_a_console_that_never_reads_stalls_nobody(settings: Settings, server: str) -> None:
    anna, ben = add_agent(settings, "Anna"), add_agent(settings, "Ben")

    stuck_http, ben_http = await logged_in(server, anna), await logged_in(server, ben)
    stuck = await never_reading_console(server, stuck_http)
    pinger = asyncio.create_task(flood_pings(stuck))
    await asyncio.wait([pinger], timeout=2)  # let the pongs pile up
    ws_url = server.replace("http", "ws")
    async with connect(f"{ws_url}/agent/ws", additional_headers=cookie_header(ben_http)) \
            as console, connect(f"{ws_url}/ws") as customer:  # fmt: skip
        await next_frame(console, "board")
        await customer.send(json.dumps({"v": 1, "type": "hello", "session": None,
                                        "last_seq": 0}))  # fmt: skip
        await next_frame(customer, "welcome")
        await customer.send(json.dumps({"v": 1, "type": "message", "text":
                                        "I want to talk to a person",
                                        "client_id": str(uuid.uuid4())}))  # fmt: skip
        status = await next_frame(customer, "handoff")
        assert status["state"] == "queued"
        cid = (await next_frame(console, "announce"))["conversation_id"]
        claim = await ben_http.post(f"/agent/api/conversations/{cid}/claim")
        assert claim.status_code == 200, claim.text
        reply = await ben_http.post(f"/agent/api/conversations/{cid}/reply",
                                    json={"text": "Hi, Ben here."})  # fmt: skip
        assert reply.status_code == 200, reply.text
        async with asyncio.timeout(WAIT):
            while True:
                frame = json.loads(await customer.recv())
                if frame["type"] == "message" and frame["text"] == "Hi, Ben here.":
                    break
    pinger.cancel()
    await stuck_http.aclose()
    await ben_http.aclose()


async def test_200_parallel_guesses_check_5_passwords_and_the_agent_still_gets_in(
    settings: Settings, server: str
) -> None:
    anna = add_agent(settings, "Anna")

    agent = await logged_in(server, anna)  # the real agent's browser, before the attack
    await agent.post("/agent/api/logout")
    checked_before = CountingHasher.checks
    answers = await guess_on(server, anna, 200, WAIT)
    assert CountingHasher.checks - checked_before <= 5
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) >= 195
    assert int(refused[0].headers["retry-after"]) > 0
    assert refused[0].json()["error"]["code"] == "too_many_attempts"
    again = await login(agent, anna, PASSWORD)  # from the agent's own browser
    assert again.status_code == 200, again.text
    await agent.aclose()


async def test_a_login_flood_leaves_the_server_answering(settings: Settings, server: str) -> None:
    anna = add_agent(settings, "Anna")

    agent = await logged_in(server, anna)
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as flood:
        csrf = (await flood.get("/agent/api/session")).json()["csrf"]

        async def try_one() -> httpx.Response:
            body = {"username": uuid.uuid4().hex[:12], "password": "a random password"}
            return await flood.post("/agent/api/login", json=body,
                                    headers={"x-csrf-token": csrf})  # fmt: skip

        flooding = asyncio.gather(*(try_one() for _ in range(60)))
        await asyncio.sleep(0)
        async with asyncio.timeout(10):  # generous: a free server answers in milliseconds
            session = await agent.get("/agent/api/session")
        assert session.json()["agent"]["username"] == anna
        answers = await flooding
    statuses = {a.status_code for a in answers}
    assert statuses <= {401, 429, 503}
    turned_away = [a for a in answers if a.status_code in (429, 503)]
    assert turned_away, "every guess was hashed"
    assert all(int(a.headers["retry-after"]) > 0 for a in turned_away)
    assert all(a.json()["error"]["message"] for a in turned_away)
    await agent.aclose()


def closed(console: Any) -> dict[str, Any]:
    """How the console's feed ends, asked with a ping: a live feed answers it."""
    console.send_json({"type": "ping"})
    while True:
        message: dict[str, Any] = frames.message(console)
        if message["type"] != "websocket.send":
            return message
        assert json.loads(message["text"])["type"] != "pong", "the feed is still live"


def test_logout_ends_the_console_feed(settings: Settings, models: Models) -> None:
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console:
            until(console, lambda f: f["type"] == "board")
            assert agent.post("/agent/api/logout").status_code == 200
            assert closed(console) == {"type": "websocket.close", "code": 4401,
                                       "reason": "logged out"}  # fmt: skip


def test_a_password_change_ends_other_logins_and_their_consoles(
    settings: Settings, models: Models
) -> None:
    anna = add_agent(settings, "Anna")
    new = "a brand new passphrase"
    with TestClient(create_app(settings, models=models)) as client:
        here, elsewhere = AgentClient(client, anna), AgentClient(client, anna)
        with elsewhere.console() as console:
            until(console, lambda f: f["type"] == "board")
            wrong = here.post("/agent/api/password", {"current": "not it at all", "new": new})
            assert wrong.status_code == 403
            assert wrong.json()["error"]["code"] == "wrong_password"
            short = here.post("/agent/api/password", {"current": PASSWORD, "new": "short"})
            assert short.status_code == 400
            assert "at least 10" in short.json()["error"]["message"]
            changed = here.post("/agent/api/password", {"current": PASSWORD, "new": new})
            assert changed.status_code == 200, changed.text
            assert closed(console)["code"] == 4401
        assert elsewhere.get("/agent/api/queue").status_code == 401
        assert here.get("/agent/api/queue").status_code == 200
        client.cookies.clear()
        csrf = client.get("/agent/api/session").json()["csrf"]
        old = client.post("/agent/api/login", json={"username": anna, "password": PASSWORD},
                          headers={"x-csrf-token": csrf})  # fmt: skip
        assert old.status_code == 401


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type": "ping"}',
        "{not json",
        '{"type": "typing", "conversation_id": ' + "9" * 5000 + ', "on": true}',
        '{"type": "typing", "conversation_id": 99999999999999999999999, "on": true}',
        '{"type": "typing", "conversation_id": "12", "on": true}',
        '{"type": "typing", "conversation_id": 12, "on": "yes"}',
        '{"type": ["ping"]}',
        "[" * 100_000,
        "[]",
    ],
)
def test_frames_no_console_sends_get_an_error_and_the_socket_stays(
    settings: Settings, frame: str | bytes, caplog: pytest.LogCaptureFixture, models: Models
) -> None:
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console:
            until(console, lambda f: f["type"] == "board")
            if isinstance(frame, bytes):
                console.send_bytes(frame)
            else:
                console.send_text(frame)
            console.send_json({"type": "ping"})
            error = until(console, lambda f: f["type"] in ("error", "pong"))
            assert error["type"] == "error", "the bad frame got no error frame"
            assert error["code"] == "bad_frame"
            assert error["message"]
            assert until(console, lambda f: f["type"] in ("error", "pong"))["type"] == "pong"
    assert not [r for r in caplog.records if r.exc_info]


async def test_login_budgets_hold_and_a_success_gives_its_attempt_back() -> None:
    now = [1000.0]
    gate = LoginGate(clock=lambda: now[0])
    for _ in range(5):
        await gate.reserve("anna", "10.0.0.1")
    with pytest.raises(ThrottledError) as refused:
        await gate.reserve("anna", "10.0.0.1")
    assert 0 < refused.value.retry_after <= 301
    for n in range(5):  # the name's budget (10) from other addresses
        await gate.reserve("anna", f"10.0.1.{n}")
    with pytest.raises(ThrottledError):
        await gate.reserve("anna", "10.0.2.1")
    attempt = await gate.reserve("anna", "10.0.2.1", device="annas-laptop")  # her own browser
    await attempt.succeeded()
    for _ in range(5):
        await (await gate.reserve("anna", "10.0.2.1", device="annas-laptop")).succeeded()
    now[0] += 301
    await gate.reserve("anna", "10.0.0.1")  # a window later, the budgets are back


async def test_password_checks_wait_in_a_bounded_room() -> None:
    gate, release = LoginGate(), threading.Event()
    held = [asyncio.create_task(gate.check(release.wait)) for _ in range(9)]
    await asyncio.sleep(0)
    with pytest.raises(BusyError):
        await gate.check(lambda: True)
    release.set()
    assert all(await asyncio.gather(*held))
    assert await gate.check(lambda: True)
    gate.close()
