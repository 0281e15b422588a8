"""Two web processes and an engine worker on one PostgreSQL and one Redis, as an operator runs
a store that outgrew one process: a customer on one process and an agent on the other see
each other at once, through the whole handoff."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from redis import Redis

from handoff.turn_stream import GROUP
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.cluster import (
    REDIS_URL,
    Agent,
    Customer,
    shared_store,
    web_subprocess,
    worker_running,
)
from tests.support.desk import add_agent
from tests.support.frames import Frame
from tests.support.live_server import free_port, run_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # real processes: about 20 s in all


def state(name: str) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "handoff" and f["state"] == name


def said(role: str, text: str = "") -> Callable[[Frame], bool]:
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
        queued = customer.until(state("queued"))
        assert queued["position"] == 1
        cid = agent.console.until(lambda f: f["type"] == "announce")["conversation_id"]

        agent.post(f"/agent/api/conversations/{cid}/claim")
        customer.until(said("system", "Anna joined the chat."))
        customer.until(state("agent"))

        # A second tab of the same session, on the other process.
        tab = Customer(b, customer.session)
        tab.until(said("system", "Anna joined the chat."))

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
            assert widget.until(said("agent"))["text"] == reply["text"]

        agent.post(f"/agent/api/conversations/{cid}/handback")
        customer.until(state("bot"))
        customer.say("which payment methods do you accept?")
        answer = tab.until(said("bot", "Klarna"))
        assert answer["role"] == "bot"
        for client in (customer, tab, agent):
            client.close()


def test_a_handoff_ended_on_another_process_lets_the_bot_answer_on_every_process(
    shared: Settings, models: Models
) -> None:
    """Asked for a person on A (an engine worker queues it), the chat ended in a second tab
    on B: every process forgets that a person has it, and the bot answers again."""
    apps = [create_app(shared, models=models) for _ in range(2)]
    with (
        worker_running(shared, models),
        run_server(apps[0]) as a,
        run_server(apps[1]) as b,
    ):
        customer = Customer(a)
        customer.say("I want to talk to a person")
        customer.until(state("offline"))  # nobody online: a ticket, in the queue
        address = ("web", customer.session)
        wait_until(lambda: all(address in people(app) for app in apps))
        tab = Customer(b, customer.session)
        tab.send({"v": 1, "type": "end"})
        customer.until(lambda f: f["type"] == "survey")
        wait_until(lambda: not any(people(app) for app in apps))
        customer.say("which payment methods do you accept?")
        assert customer.until(lambda f: f["type"] == "typing" and f["on"])["who"] == "bot"
        assert "Klarna" in customer.until(said("bot"))["text"]
        for client in (customer, tab):
            client.close()


def people(app: Any) -> set[tuple[str, str]]:
    """The conversations a process believes a person has."""
    return set(app.state.desk._customers._with_people)


def wait_until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not so after {timeout:g} s"
        time.sleep(0.02)


def test_a_web_process_killed_mid_conversation_loses_and_doubles_nothing(
    shared: Settings, models: Models
) -> None:
    """The widget's way: after a drop it resumes on another process from the last seq it
    saw, and sends again (same client ids) what was never acknowledged."""
    with (
        worker_running(shared, models),
        web_subprocess(shared) as (a, process_a),
        run_server(create_app(shared, models=models)) as b,
    ):
        customer = Customer(a)
        questions = {
            "do you ship to norway?": None,
            "which payment methods do you accept?": None,
            "what is your return policy?": None,
            "how long does delivery take?": None,
        }
        sent = {customer.say(text): text for text in questions}
        first = customer.until(lambda f: f["type"] == "ack")
        process_a.kill()  # mid-conversation: the other turns are anywhere on their way
        seen = [first["seq"]]
        with contextlib.suppress(Exception):
            while True:
                frame = customer.until(lambda f: True, timeout=2)
                if frame["type"] == "message":
                    seen.append(frame["seq"])
        acked = {first["client_id"]}

        again = Customer(b, customer.session, last_seq=max(seen))
        for client_id, text in sent.items():
            if client_id not in acked:
                again.say(text, client_id)
        for _ in sent.keys() - acked:
            again.until(lambda f: f["type"] == "ack")

        messages = httpx.get(f"{b}/api/sessions/{customer.session}/messages").json()["messages"]
        mine = [m for m in messages if m["role"] == "customer"]
        assert sorted(m["client_id"] for m in mine) == sorted(sent)  # each once, none lost
        replies = [m for m in messages if m["role"] == "bot"]
        assert len(replies) == len(sent)  # each answered once
        seqs = [m["seq"] for m in messages]
        assert seqs == list(range(1, len(messages) + 1))
        again.close()


def test_turns_a_dead_worker_held_are_taken_over_and_answered_once(
    built_settings: Settings, models: Models
) -> None:
    """A worker that took turns and died (they stay pending in the stream, unacknowledged) is
    replaced: another worker takes them over after `turn_claim_seconds` and answers each once.
    """
    port = free_port()
    with (
        shared_store(built_settings, turn_claim_seconds=0.5, worker_metrics_port=port) as shared,
        run_server(create_app(shared, models=models)) as a,
    ):
        redis = Redis.from_url(REDIS_URL)
        stream = f"{shared.redis_prefix}turns"
        redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        customer = Customer(a)
        client_id = customer.say("what is your return policy?")
        taken: list[Any] = []
        deadline = time.monotonic() + 10
        while not taken and time.monotonic() < deadline:  # the dead worker takes it...
            taken = redis.xreadgroup(GROUP, "dead-worker", {stream: ">"}, count=10, block=200)
        assert taken, "the turn never reached the stream"
        answered_before = REGISTRY.get_sample_value("shopclerk_turn_seconds_count") or 0.0
        with worker_running(shared, models):  # ... and never answers: another one does
            ack = customer.until(lambda f: f["type"] == "ack", timeout=30)
            assert ack["client_id"] == client_id
            answer = customer.until(said("bot", "30 days"))
            assert answer["seq"] == ack["seq"] + 1
            # The worker's metrics port counts the turns answered there.
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            counted = re.search(r"^shopclerk_turn_seconds_count ([0-9.e+]+)$", metrics, re.M)
            assert counted is not None
            assert float(counted.group(1)) >= answered_before + 1
        assert redis.xlen(stream) == 0  # acknowledged and removed
        messages = httpx.get(f"{a}/api/sessions/{customer.session}/messages").json()["messages"]
        assert [m["role"] for m in messages] == ["customer", "bot"]
        redis.close()
        customer.close()


def test_restarting_a_process_leaves_another_process_s_agent_their_conversation(
    built_settings: Settings, models: Models
) -> None:
    """Only an agent really gone loses their conversations: not one merely online by way of
    another process than the one that restarted (which once put them back in the queue)."""
    with (
        shared_store(built_settings, agent_away_seconds=1.0) as shared,
        worker_running(shared, models),
        run_server(create_app(shared, models=models)) as b,
    ):
        anna = add_agent(shared, "Anna")
        agent = Agent(b, anna)
        agent.console.until(lambda f: f["type"] == "board")
        customer = Customer(b)
        customer.say("I want to talk to a person")
        cid = agent.console.until(lambda f: f["type"] == "announce")["conversation_id"]
        agent.post(f"/agent/api/conversations/{cid}/claim")
        customer.until(state("agent"))

        with run_server(create_app(shared, models=models)):
            pass  # a process stops...
        with run_server(create_app(shared, models=models)) as a:  # ... and starts again
            time.sleep(3.0)  # three times away_after: the restarted one could lead the chores
            view = agent.http.get(f"{a}/agent/api/conversations/{cid}").json()
            assert view["conversation"]["owner"].startswith("agent:")

            agent.console.close()  # now Anna is gone: her conversation goes back to the queue
            customer.until(said("system", "Anna had to leave"), timeout=10)
            customer.until(state("offline"))  # and nobody else is there
        customer.close()
        agent.http.close()


def test_past_the_workers_backlog_a_message_is_refused_at_once_and_nothing_is_lost(
    built_settings: Settings, models: Models
) -> None:
    """No worker keeps up (here: none runs yet): past `max_queued_turns` waiting in the
    stream, a message gets `overloaded` with a retry_after at once and is not stored; the ones
    taken are answered once a worker comes, and the refused one when it is sent again."""
    with (
        shared_store(built_settings, max_queued_turns=2) as shared,
        run_server(create_app(shared, models=models)) as a,
    ):
        # Each socket waits for its message's turn: three customers write at once.
        first, second, third = Customer(a), Customer(a), Customer(a)
        taken = {first.say("what is your return policy?"): first, second.say("hello"): second}
        redis = Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 10
        while redis.xlen(f"{shared.redis_prefix}turns") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the web process looks at the backlog again
        refused = third.say("which payment methods do you accept?")
        error = third.until(lambda f: f["type"] == "error")
        assert (error["code"], error["client_id"]) == ("overloaded", refused)
        assert error["retry_after"] >= 1
        with worker_running(shared, models):
            for client_id, customer in taken.items():
                assert customer.until(lambda f: f["type"] == "ack")["client_id"] == client_id
            third.say("which payment methods do you accept?", refused)  # as the widget does
            assert third.until(lambda f: f["type"] == "ack")["client_id"] == refused
        for client_id, customer in [*taken.items(), (refused, third)]:
            url = f"{a}/api/sessions/{customer.session}/messages"
            messages = httpx.get(url).json()["messages"]
            assert messages[0]["client_id"] == client_id
            assert [m["role"] for m in messages] == ["customer", "bot"]  # stored once, answered
            customer.close()
        redis.close()
