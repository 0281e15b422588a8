"""The widget's websocket and the REST API, through Starlette's test client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.frames import receive

HARRY, HARRY_ORDER = "harryhughes@example.org", "HP-105442"


@pytest.fixture(scope="module")
def client(built_settings: Settings, models: Models) -> Iterator[TestClient]:
    settings = built_settings.model_copy(
        update={"ws_messages_per_minute": 5, "ws_connections_per_address": 6,
                "allowed_origins": ["https://shop.example"],
                # every test here is the same client address: per-address limits are
                # tested in test_web_abuse.py
                "ws_sessions_per_address_per_minute": 1000,
                "ws_messages_per_address_per_minute": 1000}
    )  # fmt: skip
    with TestClient(create_app(settings, models=models)) as client:
        yield client


def hello(ws: WebSocketTestSession, session: str | None = None, last_seq: int = 0) -> str:
    ws.send_json({"v": 1, "type": "hello", "session": session, "last_seq": last_seq})
    welcome = receive(ws)
    assert welcome["type"] == "welcome"
    return str(welcome["session"])


def send(ws: WebSocketTestSession, text: str, client_id: str | None = None) -> list[dict[str, Any]]:
    """Send a message; the frames up to the bot's reply (typing, ack, messages)."""
    client_id = client_id or str(uuid.uuid4())
    ws.send_json({"v": 1, "type": "message", "client_id": client_id, "text": text})
    frames = []
    while True:
        frame = receive(ws)
        frames.append(frame)
        if frame["type"] == "message" and frame["role"] == "bot":
            return frames
        if frame["type"] == "error":
            return frames


def stored(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message"]


def test_a_message_is_acked_stored_and_answered_in_order(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        frames = send(ws, "which payment methods do you accept?", "c-1")
    types = [f["type"] for f in frames]
    assert types[0] == "typing"
    assert frames[0]["on"] is True
    ack = next(f for f in frames if f["type"] == "ack")
    customer, bot = stored(frames)
    assert ack == {"v": 1, "type": "ack", "client_id": "c-1", "seq": customer["seq"]}
    assert (customer["seq"], bot["seq"]) == (1, 2)
    assert customer["text"] == "which payment methods do you accept?"
    assert "Klarna" in bot["text"]
    assert bot["handoff"] is None
    assert all(f["v"] == 1 for f in frames)


def test_history_comes_back_after_a_reload_and_nothing_twice(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        session = hello(ws)
        send(ws, "<b>hello</b> 🙂")
    with client.websocket_connect("/ws") as ws:  # a reload: same session, nothing shown yet
        assert hello(ws, session, last_seq=0) == session
        replay = [receive(ws), receive(ws)]
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"  # and no third replayed frame before it
    assert [(f["seq"], f["role"]) for f in replay] == [(1, "customer"), (2, "bot")]
    assert replay[0]["text"] == "<b>hello</b> 🙂"  # text stays text
    with client.websocket_connect("/ws") as ws:
        hello(ws, session, last_seq=2)
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"


def test_a_dropped_socket_loses_nothing_and_a_resend_is_not_answered_twice(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws") as ws:
        session = hello(ws)
        send(ws, "hello", "first")
        # The connection drops right after sending: the reply is never read on this socket.
        ws.send_json({"v": 1, "type": "message", "client_id": "dropped", "text": "thanks!"})
    with client.websocket_connect("/ws") as ws:
        hello(ws, session, last_seq=2)
        # The widget resends what was never acked; the server acks it and answers only once.
        frames = send(ws, "thanks!", "dropped")
        seen = stored(frames)
        if not seen:  # already replayed before the resend was acked
            seen = stored([receive(ws), receive(ws)])
    rest = client.get(f"/api/sessions/{session}/messages").json()["messages"]
    assert [m["seq"] for m in rest] == [1, 2, 3, 4]
    assert [m["client_id"] for m in rest if m["role"] == "customer"] == ["first", "dropped"]
    assert [m["seq"] for m in seen] == [3, 4]


def test_a_malformed_frame_gets_an_error_and_the_socket_stays_usable(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text("{not json")
        assert receive(ws)["code"] == "bad_frame"
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["code"] == "hello_first"
        hello(ws)
        for bad in ({"v": 2, "type": "ping"}, {"v": 1, "type": "dance"}, [1, 2],
                    {"v": 1, "type": "message", "text": "no client id"},
                    {"v": 1, "type": "ping", "extra": True}):  # fmt: skip
            ws.send_json(bad)
            assert receive(ws)["code"] == "bad_frame"
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"


def test_too_large_and_too_fast_are_refused_clearly(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        session = hello(ws)
        error = send(ws, "x" * 2001, "big")[-1]
        assert (error["code"], error["client_id"]) == ("too_large", "big")
        assert "2000" in error["message"]
        for n in range(5):
            send(ws, f"hello {n}")
        limited = send(ws, "one more")[-1]
        assert limited["code"] == "rate_limited"
        assert 0 < limited["retry_after"] <= 60
    messages = client.get(f"/api/sessions/{session}/messages").json()["messages"]
    assert len(messages) == 10  # the big one and the sixth were not stored


def test_feedback_on_a_reply(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        bot = stored(send(ws, "hello"))[-1]
        ws.send_json({"v": 1, "type": "feedback", "message_id": bot["id"], "rating": "down"})
        assert receive(ws) == {"v": 1, "type": "feedback_saved",
                                     "message_id": bot["id"], "rating": "down"}  # fmt: skip
        ws.send_json({"v": 1, "type": "feedback", "message_id": bot["id"] - 1, "rating": "up"})
        assert receive(ws)["code"] == "unknown_message"  # the customer's own message


def test_other_origins_are_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": "https://evil.example"}) as ws:
        assert receive(ws)["code"] == "origin_not_allowed"
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4403
    with client.websocket_connect("/ws", headers={"origin": "https://shop.example"}) as ws:
        hello(ws)


def test_connections_per_address_are_limited(client: TestClient) -> None:
    sockets = [client.websocket_connect("/ws") for _ in range(6)]
    opened = [s.__enter__() for s in sockets]
    try:
        for ws in opened:
            hello(ws)
        with client.websocket_connect("/ws") as extra:
            assert receive(extra)["code"] == "too_many_connections"
    finally:
        for s in sockets:
            s.__exit__(None, None, None)


def test_rest_conversation_and_its_errors(client: TestClient) -> None:
    session = client.post("/api/sessions").json()["session"]
    reply = client.post(f"/api/sessions/{session}/messages",
                        json={"client_id": "r1", "text": f"where is {HARRY_ORDER}"})  # fmt: skip
    assert reply.status_code == 200
    body = reply.json()
    assert body["ack"]["seq"] == 1
    assert [m["role"] for m in body["messages"]] == ["customer", "bot"]
    follow = client.post(f"/api/sessions/{session}/messages",
                         json={"client_id": "r2", "text": HARRY}).json()  # fmt: skip
    assert "UPS" in follow["messages"][-1]["text"]
    after = client.get(f"/api/sessions/{session}/messages?after=2").json()["messages"]
    assert [m["seq"] for m in after] == [3, 4]
    bad = client.post(f"/api/sessions/{session}/messages", content=b"{oops",
                      headers={"content-type": "application/json"})  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "bad_frame"
    unknown_field = client.post(
        f"/api/sessions/{session}/messages",
        json={"client_id": "r3", "text": "hi", "colour": "red"},
    )
    assert unknown_field.status_code == 400
    big = client.post(f"/api/sessions/{session}/messages",
                      json={"client_id": "r4", "text": "x" * 5000})  # fmt: skip
    assert big.status_code == 413
    assert client.get("/api/sessions/nope/messages").status_code == 404


def test_the_demo_page_and_the_widget_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<script src="/static/widget.js"' in page.text
    script = client.get("/static/widget.js")
    assert script.status_code == 200
    assert "innerHTML" not in script.text
    assert client.get("/static/widget.css").status_code == 200
