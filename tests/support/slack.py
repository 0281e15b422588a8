"""Slack's side of a test: settings pointing at the stand-in (tests/support/slack_api.py),
really signed events and clicks, and what the bot posted and stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from engine.models import Conversation, Message
from kb.database import open_database
from shopclerk.settings import Settings
from tests.support.desk import fresh_settings
from tests.support.slack_api import (
    Call,
    SlackStandIn,
    block_actions,
    event_callback,
    interactive_body,
    message_event,
    sign,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
Json = dict[str, Any]


def slack_settings(built: Settings, tmp_path: Path, slack: SlackStandIn, **more: Any) -> Settings:
    return fresh_settings(built, tmp_path, slack_bot_token=secret(slack.bot_token),
                          slack_signing_secret=secret(SECRET), slack_api_url=slack.base_url,
                          **more)  # fmt: skip


def secret(value: str) -> Any:

    return SecretStr(value)


def post_event(client: TestClient, event: Json, retry: int | None = None, **envelope: Any) -> Any:
    """What Slack sends for one event: the envelope, signed with the app's signing secret."""
    body = json.dumps(event_callback(event, **envelope))
    headers = sign(body, SECRET)
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return client.post("/slack/events", content=body, headers=headers)


def click(client: TestClient, payload: Json) -> Any:
    body = interactive_body(payload)
    return client.post("/slack/events", content=body, headers=sign(body, SECRET))


def pressed(user: str, post: Call, action_id: str, value: str) -> Json:
    """Slack's payload for a click on a button of a message the bot posted (Slack sends the
    message along)."""
    channel = str(post.params["channel"])
    payload = block_actions(user, action_id, value, channel, post.response["ts"],
                            thread_ts=post.params.get("thread_ts"))  # fmt: skip
    payload["message"] |= {"text": post.params.get("text", ""),
                           "blocks": post.params.get("blocks", [])}  # fmt: skip
    return payload


def press(client: TestClient, user: str, post: Call, action_id: str, value: str) -> Any:
    return click(client, pressed(user, post, action_id, value))


def top_level(slack: SlackStandIn, channel: str, n: int = 1) -> list[Call]:
    slack.wait_for(lambda s: len([c for c in s.posts(channel) if "thread_ts" not in c.params]) >= n)
    return [c for c in slack.posts(channel) if "thread_ts" not in c.params]


def texts(calls: list[Call]) -> list[str]:
    return [str(c.params.get("text", "")) for c in calls]


def buttons(call: Call) -> dict[str, Json]:
    """The buttons of a posted message, by action id (the last of each)."""
    found = {}
    for block in call.params.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["action_id"]] = element
    return found


def conversation_keys(settings: Settings) -> set[str]:
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        keys = set(session.exec(select(Conversation.key).where(Conversation.channel == "slack")))
    db.dispose()
    return keys


def slack_messages(settings: Settings, role: str) -> list[str]:
    """What was stored of Slack conversations, in order."""
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        query = (
            select(Message.text)
            .join(Conversation)
            .where(Conversation.channel == "slack", Message.role == role)
            .order_by(col(Message.id))
        )
        texts = list(session.exec(query).all())
    db.dispose()
    return texts


SENTINEL, SENTINEL_ANSWER = "can I pay with Klarna?", "Klarna"


def posts_before_sentinel(
    client: TestClient,
    slack: SlackStandIn,
    user: str,
    channel: str,
    thread_ts: str | None = None,
) -> list[Call]:
    """What the bot posted in `channel` (or its thread), once a later message there has been
    answered: events are worked off in the order they came, so anything the earlier ones were
    going to post is posted before the sentinel's answer, which is the last of the list."""
    post_event(client, message_event(user, SENTINEL, channel, thread_ts=thread_ts))
    slack.wait_for(lambda s: any(SENTINEL_ANSWER in str(c.params.get("text", ""))
                                 for c in s.posts(channel, thread_ts)))  # fmt: skip
    posts = slack.posts(channel, thread_ts)
    assert SENTINEL_ANSWER in str(posts[-1].params.get("text", "")), texts(posts)
    return posts
