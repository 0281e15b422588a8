"""Human handoff through the real app: a customer in the widget's websocket, agents in the
console's API and websocket (Starlette's test client), on a copy of the demo database."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from channels.slack.blocks import handoff_card
from engine.models import Message
from handoff.models import HandoffRecord
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import (
    PASSWORD,
    AgentClient,
    add_agent,
    asks_for_a_person,
    fresh_settings,
    handoff_state,
    in_queue,
    is_msg,
    say,
    widget,
)
from tests.support.frames import until, until_all


@pytest.fixture
def settings(built_settings: Settings, tmp_path: Path) -> Settings:
    return fresh_settings(built_settings, tmp_path)


def test_handoff_claim_reply_both_ways_hand_back(settings: Settings, models: Models) -> None:
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console, client.websocket_connect("/ws") as customer:
            until(console, lambda f: f["type"] == "board")
            widget(customer)
            say(customer, "I want to talk to a person")
            status, _ = until_all(customer, handoff_state("queued"), is_msg("bot"))
            assert status["position"] == 1
            cid = until(console, lambda f: f["type"] == "announce")["conversation_id"]
            board = agent.get("/agent/api/queue").json()
            assert in_queue(board) == [cid]
            assert board["queue"][0]["reason"] == "customer_asked"

            view = agent.post(f"/agent/api/conversations/{cid}/claim").json()
            assert view["conversation"]["owner"].startswith("agent:")
            until_all(customer, handoff_state("agent"), is_msg("system", "Anna joined the chat."))

            say(customer, "where is my order HP-105442?")
            shown = until(console, lambda f: f["type"] == "message"
                          and f["message"]["role"] == "customer")  # fmt: skip
            assert shown["conversation_id"] == cid
            assert shown["message"]["text"] == "where is my order HP-105442?"
            view = agent.get(f"/agent/api/conversations/{cid}").json()
            assert view["understanding"]["slots"]["order_id"] == "HP-105442"
            assert view["draft"]["text"]  # what the bot would have said, for the agent
            assert [m["role"] for m in view["messages"]][-1] == "customer"  # the bot kept quiet

            console.send_json({"type": "typing", "conversation_id": cid, "on": True})
            typing = until(customer, lambda f: f["type"] == "typing")
            assert (typing["who"], typing["name"], typing["on"]) == ("agent", "Anna", True)
            agent.post(f"/agent/api/conversations/{cid}/reply",
                       {"text": "Let me check that for you.", "client_id": "a-1",
                        "draft": "own"})  # fmt: skip
            reply = until(customer, is_msg("agent"))
            assert (reply["agent"], reply["text"]) == ("Anna", "Let me check that for you.")

            agent.post(f"/agent/api/conversations/{cid}/handback")
            until_all(customer, handoff_state("bot"), is_msg("system", "handed you back"))
            say(customer, "which payment methods do you accept?")
            assert "Klarna" in until(customer, is_msg("bot"))["text"]


def test_two_agents_claim_at_once_one_wins_the_other_is_told(
    settings: Settings, models: Models
) -> None:
    anna, ben = add_agent(settings, "Anna"), add_agent(settings, "Ben")
    with TestClient(create_app(settings, models=models)) as client:
        a, b = AgentClient(client, anna), AgentClient(client, ben)
        with a.console() as console, client.websocket_connect("/ws") as customer:
            cid = asks_for_a_person(console, customer, "can I speak to a human agent please")
            claim = f"/agent/api/conversations/{cid}/claim"
            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda agent: agent.post(claim), [a, b]))
            winner = next(n for n, answer in enumerate(answers) if answer.status_code == 200)
            loser = answers[1 - winner]
            assert loser.status_code == 409
            assert loser.json()["error"]["code"] == "taken"
            name = ["Anna", "Ben"][winner]
            assert f"{name} already has this conversation" in loser.json()["error"]["message"]
            status = until(customer, lambda f: f["type"] == "handoff" and f["state"] == "agent")
            assert status["agent"] == name


def test_only_the_owner_may_reply_and_agent_routes_refuse_strangers(
    settings: Settings, models: Models
) -> None:
    anna, ben = add_agent(settings, "Anna"), add_agent(settings, "Ben")
    with TestClient(create_app(settings, models=models)) as client:
        assert client.get("/agent/api/queue").status_code == 401
        assert client.get("/agent/", follow_redirects=False).headers["location"] == ("/agent/login")
        a, b = AgentClient(client, anna), AgentClient(client, ben)
        with a.console() as console, client.websocket_connect("/ws") as customer:
            cid = asks_for_a_person(console, customer, "talk to a person")
            a.post(f"/agent/api/conversations/{cid}/claim")
            refused = b.post(f"/agent/api/conversations/{cid}/reply", {"text": "me too"})
            assert refused.status_code == 409
            assert refused.json()["error"]["code"] == "not_yours"
            no_csrf = client.post(f"/agent/api/conversations/{cid}/handback",
                                  headers={"cookie": f"sc_agent={a.cookie}"})  # fmt: skip
            assert no_csrf.status_code == 403
            assert a.get(f"/agent/api/conversations/{cid}").json()["conversation"]["owner"] \
                .startswith("agent:")  # fmt: skip

        assert a.post("/agent/api/logout").json() == {"ok": True}
        assert a.get("/agent/api/queue").status_code == 401  # the copied cookie is dead now
        client.cookies.clear()
        csrf = client.get("/agent/api/session").json()["csrf"]
        wrong = client.post("/agent/api/login", json={"username": anna, "password": "nope"},
                            headers={"x-csrf-token": csrf})  # fmt: skip
        assert wrong.status_code == 401


def test_nobody_online_makes_an_offline_ticket_and_keeps_the_email(
    settings: Settings, models: Models
) -> None:
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as customer,
    ):
        widget(customer)
        say(customer, "I want to talk to a person")
        until_all(customer, handoff_state("offline"), is_msg("bot", "Leave your email"))
        say(customer, "it's maria@example.com")
        until(customer, is_msg("system", "We will answer you at maria@example.com"))
        banner = until(customer, handoff_state("offline"))  # it stops asking for the email
        assert banner["email_known"] is True
        assert "Leave your email" not in banner["text"]
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        record = session.exec(select(HandoffRecord)).one()
        messages = session.exec(select(Message).order_by(col(Message.seq))).all()
    assert (record.offline, record.contact_email, record.closed_at) == (
        True, "maria@example.com", None,
    )  # fmt: skip
    assert "it's maria@example.com" in [m.text for m in messages]  # kept for the agent
    # One consistent story: handed over, nobody there, answered by email; never "here".
    said = [
        m.text
        for m in messages
        if m.conversation_id == record.conversation_id and m.role in ("bot", "system")
    ]
    assert len(said) == 3, said
    assert said[0].startswith("Of course. I'm passing this conversation to a person")
    assert "Nobody from our team is online right now" in said[1]
    assert not any("reply here" in text for text in said), said


def test_outside_business_hours_the_customer_is_told_so(
    built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    closed = fresh_settings(built_settings, tmp_path, business_hours=_closed_now())
    anna = add_agent(closed, "Anna")
    with TestClient(create_app(closed, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console, client.websocket_connect("/ws") as customer:
            until(console, lambda f: f["type"] == "board")
            widget(customer)
            say(customer, "I want to talk to a person")
            until_all(customer, handoff_state("offline"),
                      is_msg("bot", "not available right now (we answer"))  # fmt: skip


@pytest.mark.slow
def test_an_agent_gone_too_long_loses_the_conversation_and_it_is_flagged(
    built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    quick = fresh_settings(built_settings, tmp_path, agent_away_seconds=1,
                           queue_flag_seconds=1)  # fmt: skip
    anna, ben = add_agent(quick, "Anna"), add_agent(quick, "Ben")
    with TestClient(create_app(quick, models=models)) as client:
        a, b = AgentClient(client, anna), AgentClient(client, ben)
        with b.console() as watcher, client.websocket_connect("/ws") as customer:
            widget(customer)
            with a.console() as console:
                until(console, lambda f: f["type"] == "board")
                say(customer, "talk to a person")
                cid = until(console, lambda f: f["type"] == "announce")["conversation_id"]
                a.post(f"/agent/api/conversations/{cid}/claim")
                until(customer, is_msg("system", "Anna joined"))
            # Anna's console closed; after a second she counts as gone.
            until(customer, is_msg("system", "Anna had to leave; you are back in the queue."))
            requeued = until(watcher, lambda f: f["type"] == "announce" and f["why"] != "new")
            assert (requeued["conversation_id"], requeued["why"]) == (cid, "requeued")
            flagged = until(watcher, lambda f: f["type"] == "announce" and f["why"] == "flagged")
            assert flagged["conversation_id"] == cid
            assert b.get("/agent/api/queue").json()["queue"][0]["flagged"] is True


def test_the_handoff_is_recorded_with_times_outcome_and_paired_replies(
    settings: Settings,
    models: Models,
) -> None:
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console, client.websocket_connect("/ws") as customer:
            cid = asks_for_a_person(console, customer, "I need a human")
            agent.post(f"/agent/api/conversations/{cid}/claim")
            for text in ("my parcel is late", "it was order HP-105442"):
                say(customer, text)
                until(console, lambda f, t=text: f["type"] == "message"
                      and f["message"]["text"] == t)  # fmt: skip
            agent.post(f"/agent/api/conversations/{cid}/notes", {"text": "VIP customer"})
            agent.post(
                f"/agent/api/conversations/{cid}/reply",
                {"text": "It ships tomorrow.", "client_id": "r-1", "draft": "edited"},
            )
            agent.post(
                f"/agent/api/conversations/{cid}/reply",
                {"text": "It ships tomorrow.", "client_id": "r-1", "draft": "edited"},
            )
            view = agent.post(f"/agent/api/conversations/{cid}/resolve", {"outcome": "resolved"})
            assert view.json()["notes"][0]["text"] == "VIP customer"
            until(customer, is_msg("system", "marked this conversation as solved"))
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        record = session.exec(select(HandoffRecord)).one()
        messages = session.exec(
            select(Message).where(Message.conversation_id == cid).order_by(col(Message.seq))
        ).all()
    assert record.reason == "customer_asked"
    assert record.outcome == "resolved"
    assert record.claimed_at
    assert record.closed_at
    assert record.first_reply_at
    assert record.claimed_at >= record.requested_at
    assert record.closed_at >= record.claimed_at
    replies = [m for m in messages if m.role == "agent"]
    assert len(replies) == 1  # the retried reply was stored once
    answered = {m.id: m.text for m in messages if m.id in replies[0].understanding["answers"]}
    assert sorted(answered.values()) == ["it was order HP-105442", "my parcel is late"]
    assert replies[0].understanding["draft"] == "edited"


def _closed_now() -> str:
    """Business hours that are surely closed at this moment (a short slot on another day)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    other = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
        (datetime.now(ZoneInfo("Europe/Amsterdam")).weekday() + 3) % 7
    ]
    return f"{other} 09:00-10:00"


def test_guessing_passwords_is_slowed_down(settings: Settings, models: Models) -> None:
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        csrf = client.get("/agent/api/session").json()["csrf"]
        tries = [
            client.post("/agent/api/login", json={"username": anna, "password": f"guess {n}"},
                        headers={"x-csrf-token": csrf}).status_code
            for n in range(6)
        ]  # fmt: skip
        assert tries == [401] * 5 + [429]
        right = client.post("/agent/api/login", json={"username": anna, "password": PASSWORD},
                            headers={"x-csrf-token": csrf})  # fmt: skip
        assert right.status_code == 429  # even the right password waits
        assert int(right.headers["retry-after"]) > 0
        assert client.get("/agent/api/session").json()["agent"] is None


def test_an_offline_ticket_uses_the_email_the_customer_already_proved(
    settings: Settings,
    models: Models,
) -> None:
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as customer,
    ):
        widget(customer)
        say(customer, "where is my order HP-105442?")
        until(customer, is_msg("bot", "email"))
        say(customer, "harryhughes@example.org")
        until(customer, is_msg("bot", "HP-105442"))
        say(customer, "I want to talk to a person")
        offline = until(customer, is_msg("bot", "right now"))
        assert "We will answer you at harryhughes@example.org" in offline["text"]
        assert "Leave your email" not in offline["text"]


def test_the_agent_sees_what_the_bot_understood_over_the_whole_conversation(
    settings: Settings,
    models: Models,
) -> None:
    """An order proved two messages before the handoff is the agent's order to look at, with
    the customer and the product discussed; the draft is about the order, not the contact FAQ."""
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console, client.websocket_connect("/ws") as customer:
            until(console, lambda f: f["type"] == "board")
            widget(customer)
            for text in ("where is my order HP-105442?", "it's harryhughes@example.org",
                         "how much is the Mooring 35 backpack"):  # fmt: skip
                say(customer, text)
                until(customer, is_msg("bot"))
            say(customer, "I'd like to talk to a person")
            cid = until(console, lambda f: f["type"] == "announce")["conversation_id"]
            view = agent.get(f"/agent/api/conversations/{cid}").json()

    understood = view["understanding"]
    assert understood["order"]["order_id"] == "HP-105442"  # not "No order looked up"
    over = understood["conversation"]
    assert over["customer"]["email"] == "harryhughes@example.org"
    assert over["order_proved"] is True
    assert over["products"] == [
        {"sku": "BAG-1080", "name": "Harbor & Pine Mooring 35 Travel Backpack"}
    ]
    assert "Mooring 35" in view["draft"]["text"]  # the last thing the customer asked about
    assert "+31" not in view["draft"]["text"]  # never the contact FAQ for "a person, please"

    _, blocks = handoff_card(view)
    card = json.dumps(blocks)
    assert "Order HP-105442: shipped" in card
    assert "proved by the customer" in card
    assert "Products discussed: Harbor &amp; Pine Mooring 35 Travel Backpack (BAG-1080)" in card


def test_asking_for_a_person_first_thing_leaves_the_draft_empty(
    settings: Settings, models: Models
) -> None:
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console, client.websocket_connect("/ws") as customer:
            cid = asks_for_a_person(console, customer, "I'd like to talk to a person")
            view = agent.get(f"/agent/api/conversations/{cid}").json()
    assert view["draft"] is None  # not the contact FAQ: the bot has nothing for the agent
    assert view["understanding"]["conversation"]["order"] is None
