"""Two web processes and an engine worker on one PostgreSQL and one Redis, as an operator runs
a store that outgrew one process: a customer on one process and an agent on the other see
each other at once, through the whole handoff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.cluster import Agent, Customer, shared_store, worker_running
from tests.support.desk import add_agent
from tests.support.live_server import run_server

pytestmark = pytest.mark.postgres


def state(name: str) -> object:
    return lambda f: f["type"] == "handoff" and f["state"] == name


def said(role: str, text: str = "") -> object:
    return lambda f: f["type"] == "message" and f["role"] == role and text in f["text"]


@pytest.fixture
def shared(built_settings: Settings) -> Iterator[Settings]:
    with shared_store(built_settings) as settings:
        yield settings


def test_a_customer_on_one_process_and_an_agent_on_another_through_the_whole_handoff(
    shared: Settings, models: Models
) -> None:
    anna = add_agent(shared, "Anna")
    with (
        worker_running(shared, models),
        run_server(create_app(shared, models=models)) as a,
        run_server(create_app(shared, models=models)) as b,
    ):
        agent = Agent(b, anna)
        agent.console.until(lambda f: f["type"] == "board")
        customer = Customer(a)

        # Asked on A while the only agent is on B: queued, not "nobody is available".
        customer.say("I want to talk to a person")
        queued = customer.until(state("queued"))  # type: ignore[arg-type]
        assert queued["position"] == 1
        cid = agent.console.until(lambda f: f["type"] == "announce")["conversation_id"]

        agent.post(f"/agent/api/conversations/{cid}/claim")
        customer.until(said("system", "Anna joined the chat."))  # type: ignore[arg-type]
        customer.until(state("agent"))  # type: ignore[arg-type]

        # A second tab of the same session, on the other process.
        tab = Customer(b, customer.session)
        tab.until(said("system", "Anna joined the chat."))  # type: ignore[arg-type]

        customer.send({"v": 1, "type": "typing", "on": True})
        typing = agent.console.until(lambda f: f["type"] == "typing")
        assert (typing["conversation_id"], typing["on"]) == (cid, True)
        customer.say("where is my order HP-105442?")
        shown = agent.console.until(
            lambda f: f["type"] == "message" and f["message"]["role"] == "customer"
        )
        assert shown["message"]["text"] == "where is my order HP-105442?"

        agent.console.send({"type": "typing", "conversation_id": cid, "on": True})
        typing = customer.until(lambda f: f["type"] == "typing" and f.get("who") == "agent")
        assert (typing["name"], typing["on"]) == ("Anna", True)
        reply = {"text": "Let me check that for you.", "client_id": "a-1", "draft": "own"}
        agent.post(f"/agent/api/conversations/{cid}/reply", reply)
        for widget in (customer, tab):
            assert widget.until(said("agent"))["text"] == reply["text"]  # type: ignore[arg-type]

        agent.post(f"/agent/api/conversations/{cid}/handback")
        customer.until(state("bot"))  # type: ignore[arg-type]
        customer.say("which payment methods do you accept?")
        answer = tab.until(said("bot", "Klarna"))  # type: ignore[arg-type]
        assert answer["role"] == "bot"
        for client in (customer, tab, agent):
            client.close()
