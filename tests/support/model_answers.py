"""Answers written by a model (tests/support/fake_openai.py behind the real `openai` client),
asked through the real app and widget socket, and what was recorded of them."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.testclient import TestClient, WebSocketTestSession

from engine.models import Conversation, Message
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import say, widget
from tests.support.fake_openai import FakeChat
from tests.support.frames import Frame, receive


def ask(settings: Settings, models: Models, fake: FakeChat, *texts: str) -> list[Frame]:
    """The frames the widget gets after each text, up to and including the bot's message."""
    frames: list[Frame] = []
    app = create_app(settings, openai_client=fake.client(max_retries=0), models=models)
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        widget(ws)
        for text in texts:
            say(ws, text)
            frames += _until_bot(ws)
    return frames


def _until_bot(ws: WebSocketTestSession) -> list[Frame]:
    seen = []
    for _ in range(200):
        frame = receive(ws)
        seen.append(frame)
        if frame["type"] == "message" and frame["role"] == "bot":
            return seen
    raise AssertionError("no bot message")


def bot_rows(settings: Settings) -> list[Message]:
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        rows = session.exec(
            select(Message).join(Conversation)
            .where(Conversation.channel == "web", Message.role == "bot",
                   col(Message.understanding).is_not(None))
            .order_by(col(Message.id))
        ).all()  # fmt: skip
    db.dispose()
    return [r for r in rows if "generation" in r.understanding]
