"""Load shedding as the widget and the REST API see it: a message the engine has no room for is
refused at once with `overloaded` and `retry_after`, nothing of it stored, and taken when the
client sends it again with the same client id."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from engine.types import Turn
from engine.worker import EngineWorker
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.frames import receive


class _Gated(EngineWorker):
    """The app's real worker, whose engine waits at a gate before each batch: a busy engine,
    on the test's command."""

    made: ClassVar[list[_Gated]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate, self.busy = threading.Event(), threading.Event()
        self.made.append(self)

    def _answer(self, jobs: Sequence[Any]) -> Sequence[Turn | BaseException]:
        self.busy.set()
        self.gate.wait(20)
        return super()._answer(list(jobs))


def _hello(ws: WebSocketTestSession) -> str:
    ws.send_json({"v": 1, "type": "hello", "session": None, "last_seq": 0})
    welcome = receive(ws)
    assert welcome["type"] == "welcome"
    return str(welcome["session"])


def _send(ws: WebSocketTestSession, client_id: str, text: str) -> None:
    ws.send_json({"v": 1, "type": "message", "client_id": client_id, "text": text})


def _until(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    while (frame := receive(ws))["type"] != kind:
        assert frame["type"] in ("typing", "ack", "message"), frame
    return frame


def _bot_reply(ws: WebSocketTestSession) -> dict[str, Any]:
    while (frame := receive(ws))["type"] != "message" or frame["role"] != "bot":
        assert frame["type"] != "error", frame
    return frame


def test_a_message_with_no_room_is_refused_at_once_and_taken_when_sent_again(
    built_settings: Settings, models: Models, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shopclerk.parts.EngineWorker", _Gated)
    settings = built_settings.model_copy(
        update={"max_queued_turns": 1, "ws_sessions_per_address_per_minute": 1000,
                "ws_messages_per_address_per_minute": 1000}
    )  # fmt: skip
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as first,
        client.websocket_connect("/ws") as second,
        client.websocket_connect("/ws") as third,
    ):
        worker = _Gated.made[-1]
        _hello(first), _hello(second)
        session = _hello(third)
        _send(first, "a-1", "hello")
        assert worker.busy.wait(20)  # the engine is on it
        _send(second, "b-1", "hello")
        deadline = time.monotonic() + 20
        while worker.turns_waiting < 1:  # and this one waits: the queue is full
            assert time.monotonic() < deadline
            time.sleep(0.01)

        _send(third, "c-1", "which payment methods do you accept?")
        refused = _until(third, "error")
        rest = client.post(
            f"/api/sessions/{session}/messages", json={"client_id": "c-2", "text": "hi"}
        )
        worker.gate.set()
        assert _bot_reply(first)["text"]
        assert _bot_reply(second)["text"]
        assert client.get(f"/api/sessions/{session}/messages").json()["messages"] == []
        _send(third, "c-1", "which payment methods do you accept?")  # the widget resends it
        assert "Klarna" in _bot_reply(third)["text"]

        stored = client.get(f"/api/sessions/{session}/messages").json()["messages"]
    assert refused["code"] == "overloaded"
    assert refused["client_id"] == "c-1"
    assert isinstance(refused["retry_after"], int)
    assert 1 <= refused["retry_after"] <= 30
    assert rest.status_code == 503
    assert rest.json()["error"]["code"] == "overloaded"
    assert int(rest.headers["Retry-After"]) >= 1
    assert [(m["seq"], m["role"], m.get("client_id")) for m in stored] == [
        (1, "customer", "c-1"), (2, "bot", None)
    ]  # fmt: skip
