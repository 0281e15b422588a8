"""How conversations end, through the real app: the outcome of each episode, and the customer's
1-5 rating asked for in the widget and in Slack."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from channels.slack.blocks import SATISFACTION
from engine.clock import utcnow
from engine.models import Conversation
from engine.outcomes import Episode, Outcomes
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import (
    AgentClient,
    add_agent,
    asks_for_a_person,
    fresh_settings,
    is_msg,
    say,
    widget,
)
from tests.support.fake_openai import FakeChat
from tests.support.frames import Frame, receive, until
from tests.support.slack import buttons, post_event, press, slack_settings
from tests.support.slack_api import SlackStandIn, message_event


@pytest.fixture
def settings(built_settings: Settings, tmp_path: Path) -> Settings:
    return fresh_settings(built_settings, tmp_path)


def episodes(settings: Settings, channel: str = "web") -> list[Episode]:
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        rows = session.exec(
            select(Episode).join(Conversation).where(Conversation.channel == channel)
            .order_by(col(Episode.id))
        ).all()  # fmt: skip
    db.dispose()
    return list(rows)


def is_survey(frame: Frame) -> bool:
    return frame["type"] == "survey"


def test_goodbye_ends_the_episode_and_the_rating_is_kept(
    settings: Settings, models: Models
) -> None:
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        widget(ws)
        say(ws, "How long does delivery take?")
        until(ws, is_msg("bot"))
        say(ws, "great, thanks. bye!")
        goodbye = until(ws, is_msg("bot"))
        survey = until(ws, is_survey)
        assert survey["scale"] == [1, 2, 3, 4, 5]
        assert "1 (poor) to 5 (great)" in survey["question"]
        ws.send_json({"v": 1, "type": "satisfaction", "episode": survey["episode"], "score": 5})
        saved = until(ws, lambda f: f["type"] == "satisfaction_saved")
        ws.send_json({"v": 1, "type": "satisfaction", "episode": 999999, "score": 5})
        refused = until(ws, lambda f: f["type"] == "error")
    assert goodbye["seq"] > 0
    assert saved["score"] == 5
    assert refused["code"] == "unknown_episode"
    [episode] = [e for e in episodes(settings) if e.id == survey["episode"]]
    assert (episode.outcome, episode.ended_by, episode.satisfaction) == ("bot_resolved",
                                                                         "customer", 5)  # fmt: skip
    assert episode.first_seq == 1


def test_ending_after_the_bot_failed_is_abandoned_and_asked_again_on_return(
    settings: Settings,
    models: Models,
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        with client.websocket_connect("/ws") as ws:
            session = widget(ws)
            say(ws, "qwzx blorp fnargle")
            until(ws, is_msg("bot"))
            ws.send_json({"v": 1, "type": "end"})
            survey = until(ws, is_survey)
        with client.websocket_connect("/ws") as ws:  # back within the hour, not answered yet
            ws.send_json({"v": 1, "type": "hello", "session": session, "last_seq": 2})
            again = until(ws, is_survey)
            ws.send_json({"v": 1, "type": "satisfaction", "episode": again["episode"],
                          "score": 2})  # fmt: skip
            until(ws, lambda f: f["type"] == "satisfaction_saved")
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"v": 1, "type": "hello", "session": session, "last_seq": 2})
            ws.send_json({"v": 1, "type": "ping"})
            frames = [receive(ws)]
            while frames[-1]["type"] != "pong":
                frames.append(receive(ws))
    assert again["episode"] == survey["episode"]
    assert not [f for f in frames if is_survey(f)]
    episode = next(e for e in episodes(settings) if e.id == survey["episode"])
    assert (episode.outcome, episode.satisfaction) == ("abandoned", 2)


def test_leaving_the_queue_is_abandoned(settings: Settings, models: Models) -> None:
    anna = add_agent(settings, "Anna")
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        agent = AgentClient(client, anna)
        with agent.console() as console:
            cid = asks_for_a_person(console, ws, "can I talk to a human")
            ws.send_json({"v": 1, "type": "end"})
            until(ws, is_survey)
            view = agent.get(f"/agent/api/conversations/{cid}").json()
    assert view["conversation"]["owner"] == "bot"
    assert view["handoff"]["outcome"] == "abandoned"
    assert episodes(settings)[-1].outcome == "abandoned"


def test_an_agent_resolving_ends_the_episode_and_the_customer_is_asked(
    settings: Settings,
    models: Models,
) -> None:
    anna = add_agent(settings, "Anna")
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        agent = AgentClient(client, anna)
        with agent.console() as console:
            cid = asks_for_a_person(console, ws, "I want to speak to a person")
            agent.post(f"/agent/api/conversations/{cid}/claim")
            reply = {"text": "Sorted, your parcel is on its way.", "client_id": "r1"}
            agent.post(f"/agent/api/conversations/{cid}/reply", reply)
            agent.post(f"/agent/api/conversations/{cid}/resolve", {"outcome": "resolved"})
            until(ws, is_msg("system", "marked this conversation as solved"))
            survey = until(ws, is_survey)
    episode = next(e for e in episodes(settings) if e.id == survey["episode"])
    assert episode.outcome == "agent_resolved"
    assert episode.ended_by == f"agent:{agent_id(settings, anna)}"


def agent_id(settings: Settings, username: str) -> int:
    from handoff.models import Agent

    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        agent = session.exec(select(Agent).where(Agent.username == username)).one()
    db.dispose()
    return agent.id or 0


def test_conversations_left_idle_end_without_a_question(settings: Settings, models: Models) -> None:
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        session = widget(ws)
        say(ws, "How long does delivery take?")
        until(ws, is_msg("bot"))
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session_:
        cid = session_.exec(select(Conversation.id).where(Conversation.key == session)).one()
        session_.execute(update(Conversation).where(col(Conversation.id) == cid)
                         .values(updated_at=utcnow() - timedelta(hours=2)))  # fmt: skip
        session_.commit()
    outcomes = Outcomes(db)
    assert cid in outcomes.idle()
    assert outcomes.end(cid, "idle") is not None
    assert cid not in outcomes.idle()
    assert outcomes.end(cid, "idle") is None  # nothing new since
    [episode] = outcomes.episodes(cid)
    db.dispose()
    assert (episode.outcome, episode.ended_by, episode.first_seq) == ("bot_resolved", "idle", 1)


# -- Slack ---------------------------------------------------------------------------------------


def test_slack_asks_for_a_rating_with_buttons(
    built_settings: Settings, tmp_path: Path, slack: SlackStandIn, models: Models
) -> None:
    settings = slack_settings(built_settings, tmp_path, slack)
    with TestClient(create_app(settings, models=models)) as client:
        post_event(client, message_event("UCUST20", "How long does delivery take?", "DCUST20"))
        slack.wait_posts(1, channel="DCUST20")
        post_event(client, message_event("UCUST20", "thanks, that's all. bye", "DCUST20"))
        slack.wait_for(lambda s: any(SATISFACTION in json.dumps(c.params.get("blocks"))
                                     for c in s.posts("DCUST20")))  # fmt: skip
        question = next(c for c in slack.posts("DCUST20")
                        if SATISFACTION in json.dumps(c.params.get("blocks")))  # fmt: skip
        four = buttons(question)[f"{SATISFACTION}_4"]
        press(client, "UCUST20", question, f"{SATISFACTION}_4", four["value"])
        slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls))
    assert episodes(settings, "slack")[-1].satisfaction == 4


def test_a_model_answer_streams_into_one_slack_message(
    built_settings: Settings, tmp_path: Path, slack: SlackStandIn, models: Models
) -> None:
    settings = slack_settings(built_settings, tmp_path, slack, generator="openai",
                              openai_api_key=SecretStr("sk-test"))  # fmt: skip
    answer = "Standard delivery in the Netherlands takes 1 to 2 working days."
    fake = FakeChat(default=answer)
    with TestClient(
        create_app(settings, openai_client=fake.client(max_retries=0), models=models)
    ) as client:
        post_event(client, message_event("UCUST21", "How long does delivery take?", "DCUST21"))
        slack.wait_for(lambda s: any(c.method == "chat.update" and c.params.get("blocks")
                                     for c in s.calls))  # fmt: skip
    [posted] = slack.posts("DCUST21")
    final = [c for c in slack.calls if c.method == "chat.update" and c.params.get("blocks")]
    assert final[-1].params["ts"] == posted.response["ts"]
    assert final[-1].params["text"] == answer
