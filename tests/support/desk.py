"""The desk's helpers: a test's own copy of the built database, agents and their logged-in
clients, and the widget's side of a conversation."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient, WebSocketTestSession

from handoff.agents import AgentAccounts
from kb.database import open_database
from shopclerk.settings import Settings
from tests.support.frames import Frame, until

PASSWORD = "correct horse battery"


def fresh_settings(built: Settings, tmp_path: Path, **changes: Any) -> Settings:
    """The built data directory's models and index, with a database of the test's own (a
    copy made with SQLite's backup API, which includes what is still in the write-ahead log)."""
    with sqlite3.connect(built.data_dir / "shopclerk.db") as source, \
            sqlite3.connect(tmp_path / "shop.db") as copy:  # fmt: skip
        source.backup(copy)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    return built.model_copy(update={"database_url": url, **changes})


def add_agent(settings: Settings, name: str) -> str:
    username = f"{name.lower()}-{uuid.uuid4().hex[:6]}"
    db = open_database(settings.sqlalchemy_url)
    AgentAccounts(db).add(username, name, PASSWORD)
    db.dispose()
    return username


class AgentClient:
    """One logged-in agent: their own cookie and CSRF token on a shared test client."""

    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        client.cookies.clear()
        csrf = client.get("/agent/api/session").json()["csrf"]
        answer = client.post("/agent/api/login", json={"username": username,
                             "password": PASSWORD}, headers={"x-csrf-token": csrf})  # fmt: skip
        assert answer.status_code == 200, answer.text
        self.csrf, self.cookie = answer.json()["csrf"], client.cookies["sc_agent"]
        client.cookies.clear()

    def headers(self) -> dict[str, str]:
        return {"cookie": f"sc_agent={self.cookie}", "x-csrf-token": self.csrf}

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers())

    def post(self, path: str, body: Frame | None = None) -> Any:
        return self.client.post(path, json=body or {}, headers=self.headers())

    def console(self) -> Any:
        return self.client.websocket_connect(
            "/agent/ws", headers={"cookie": f"sc_agent={self.cookie}"}
        )


def handoff_state(state: str) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "handoff" and f["state"] == state


def asks_for_a_person(
    console: WebSocketTestSession, customer: WebSocketTestSession, text: str
) -> int:
    """A new customer asks for a person in the widget; the conversation the console hears
    announced."""
    until(console, lambda f: f["type"] == "board")
    widget(customer)
    say(customer, text)
    return int(until(console, lambda f: f["type"] == "announce")["conversation_id"])


def widget(ws: WebSocketTestSession) -> str:
    ws.send_json({"v": 1, "type": "hello", "session": None, "last_seq": 0})
    return str(until(ws, lambda f: f["type"] == "welcome")["session"])


def say(ws: WebSocketTestSession, text: str) -> None:
    ws.send_json({"v": 1, "type": "message", "client_id": str(uuid.uuid4()), "text": text})


def is_msg(role: str, text: str = "") -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "message" and f["role"] == role and text in f["text"]


def in_queue(board: Frame) -> list[int]:
    return [item["conversation_id"] for item in board["queue"]]


async def guess_on(
    url: str, username: str, guesses: int, timeout: float = 30.0
) -> list[httpx.Response]:
    """`guesses` wrong passwords at `username`, all at once, on the server at `url`."""
    limits = httpx.Limits(max_connections=guesses)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as thief:
        csrf = (await thief.get("/agent/api/session")).json()["csrf"]

        async def guess(n: int) -> httpx.Response:
            body = {"username": username, "password": f"guess number {n}"}
            return await thief.post("/agent/api/login", json=body,
                                    headers={"x-csrf-token": csrf})  # fmt: skip

        return list(await asyncio.gather(*(guess(n) for n in range(guesses))))
