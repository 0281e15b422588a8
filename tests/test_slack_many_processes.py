"""Slack with two web processes and an engine worker on one PostgreSQL and one Redis, behind a
load balancer that sends each of Slack's requests to either: Slack's customers and agents see
what they would see with one process. The module's web processes are real `shopclerk serve`
processes, started once for its tests (the holder of Slack's lease is killed in the last of
them); Socket Mode's test runs its own two in this process, to stop one as SIGTERM would.
Slack's Web API is the stand-in on loopback, and the events are signed as Slack signs them."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from channels.slack.blocks import CLAIM, RESOLVE
from handoff.agents import AgentAccounts
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.cluster import (
    Customer,
    shared_store,
    web_subprocesses,
    worker_running,
)
from tests.support.desk import add_agent
from tests.support.live_server import run_server
from tests.support.slack import SECRET, buttons, pressed, slack_messages, texts
from tests.support.slack_api import (
    Call,
    SlackStandIn,
    event_callback,
    interactive_body,
    mention_event,
    message_event,
    sign,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # real processes, shared by the module

LEASE_SECONDS = 2.0
AGENTS = "CAGENTS01"
LEASE_HELD = re.compile(r"^shopclerk_slack_lease_held 1", re.M)


@dataclass
class Cluster:
    slack: SlackStandIn
    settings: Settings
    a: str  # the web process that took Slack's lease
    process_a: subprocess.Popen[bytes]
    b: str


@pytest.fixture(scope="module")
def cluster(built_settings: Settings, models: Models) -> Iterator[Cluster]:
    with SlackStandIn() as slack, shared_store(built_settings) as shared:
        env = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SHOPCLERK_SLACK_API_URL": slack.base_url,
            "SHOPCLERK_SLACK_LEASE_SECONDS": str(LEASE_SECONDS),
            "SHOPCLERK_SLACK_AGENTS_CHANNEL": AGENTS,
        }
        anna = add_agent(shared, "Anna")  # in Slack as UANNA, who is active there
        db = open_database(shared.sqlalchemy_url)
        AgentAccounts(db).link_slack(anna, "UANNA")
        db.dispose()
        with worker_running(shared, models), web_subprocesses(shared, 2, **env) as started:
            urls = [url for url, _ in started]
            holder = speaking(urls)
            (a, process_a), (b, _) = started[holder], started[1 - holder]
            yield Cluster(slack, shared, a, process_a, b)


def speaking(urls: list[str]) -> int:
    """Which of the web processes holds Slack's lease (their /metrics say), once one does."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        said = [httpx.get(f"{url}/metrics").text for url in urls]
        holders = [n for n, text in enumerate(said) if LEASE_HELD.search(text)]
        if holders:
            assert len(holders) == 1, "two processes speak for Slack"
            return holders[0]
        time.sleep(0.05)
    raise AssertionError("no process took Slack's lease")


def send(url: str, event: dict[str, object], event_id: str | None = None, retry: int = 0) -> None:
    """One event as Slack posts it to the Request URL (behind the balancer: `url`'s process)."""
    body = json.dumps(event_callback(event, event_id=event_id))
    headers = sign(body, SECRET)
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    answer = httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text


def click(url: str, user: str, post: Call, action_id: str, value: str) -> None:
    """A click on a button of a message the bot posted."""
    body = interactive_body(pressed(user, post, action_id, value))
    answer = httpx.post(f"{url}/slack/events", content=body, headers=sign(body, SECRET))
    assert answer.status_code == 200, answer.text


def said(role: str, text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["type"] == "message" and f["role"] == role and text in f["text"]


def answered(slack: SlackStandIn, channel: str, words: str, thread: str | None = None) -> None:
    slack.wait_for(
        lambda s: any(words in str(c.params.get("text", "")) for c in s.posts(channel, thread)),
        timeout=30,
    )


def replies(slack: SlackStandIn, channel: str, thread: str | None = None) -> list[Call]:
    return slack.posts(channel, thread)


def only_then_klarna(cluster: Cluster, user: str, dm: str) -> None:
    """A later question, sent to B and answered: the DM then holds the return-policy answer
    and this one, each once and in that order."""
    send(cluster.b, message_event(user, "can I pay with Klarna?", dm))
    answered(cluster.slack, dm, "Klarna")
    posts = texts(replies(cluster.slack, dm))
    assert len(posts) == 2, posts
    assert "30 days" in posts[0]
    assert "Klarna" in posts[1]


def test_an_event_delivered_to_both_processes_is_answered_once(cluster: Cluster) -> None:
    slack = cluster.slack
    event = message_event("UCUST1", "what is your return policy?", "DCUST1")
    send(cluster.a, event, event_id="EvTWICE1")
    send(cluster.b, event, event_id="EvTWICE1", retry=1)  # Slack's retry, on the other one
    answered(slack, "DCUST1", "30 days")
    # Once a later message is answered, the retry has posted nothing.
    only_then_klarna(cluster, "UCUST1", "DCUST1")
    customer = [t for t in slack_messages(cluster.settings, "customer") if "return policy" in t]
    assert customer == ["what is your return policy?"]


def test_a_thread_written_to_both_processes_in_turn_is_answered_in_order_once_each(
    cluster: Cluster,
) -> None:
    slack = cluster.slack
    mention = mention_event("UCUST2", "<@UBOT> how long does delivery take?", "CSHOP02")
    thread = mention["ts"]
    asked = [
        ("what is your return policy?", "30 days"),
        ("can I pay with Klarna?", "Klarna"),
        ("how long does delivery take?", "deliver"),
    ]
    # The mention's process waits a second for Slack to say who wrote it: the thread's next
    # messages, on the other process meanwhile, must still come after it.
    slack.slow("users.info", 1.0)
    send(cluster.a, mention)
    # Each sent as soon as the one before was acknowledged, to the other process.
    for n, (question, _) in enumerate(asked):
        url = cluster.b if n % 2 == 0 else cluster.a
        send(url, message_event("UCUST2", question, "CSHOP02", thread_ts=thread))
    # Once a later message is answered, every one before it has been answered (or never is).
    send(cluster.b, message_event("UCUST2", "do you ship to norway?", "CSHOP02", thread_ts=thread))
    slack.wait_for(lambda s: len(s.posts("CSHOP02", thread)) >= 2 + len(asked), timeout=30)
    posts = texts(replies(slack, "CSHOP02", thread))
    assert len(posts) == 2 + len(asked), posts
    assert "deliver" in posts[0].lower()
    for (question, words), post in zip(asked, posts[1:-1], strict=True):
        assert words.lower() in post.lower(), (question, post)
    stored = slack_messages(cluster.settings, "customer")
    assert stored[-len(asked) - 2 :] == [
        "how long does delivery take?",
        *(q for q, _ in asked),
        "do you ship to norway?",
    ]


def test_an_agent_in_slack_and_a_widget_customer_on_another_process_hear_each_other(
    cluster: Cluster,
) -> None:
    """The handoff's card is posted once, whichever process the news started in; Anna's
    click and her reply in the thread, on either process, reach the customer's socket."""
    slack = cluster.slack
    customer = Customer(cluster.b)
    customer.say("I want to talk to a person please")
    slack.wait_for(lambda s: len(cards(s)) >= 1, timeout=30)
    [card] = cards(slack)
    thread = str(card.response["ts"])
    cid = buttons(card)[CLAIM]["value"]

    click(cluster.a, "UANNA", card, CLAIM, cid)
    customer.until(said("system", "Anna joined the chat."))
    send(cluster.b, message_event("UANNA", "Sorry! I am sending a new one today.", AGENTS,
                                  thread_ts=thread))  # fmt: skip
    customer.until(said("agent", "sending a new one today"))
    customer.say("thank you, that is kind")
    slack.wait_for(lambda s: any("that is kind" in t for t in texts(s.posts(AGENTS, thread))))
    click(cluster.b, "UANNA", card, RESOLVE, cid)
    customer.until(said("system", "marked this conversation as solved"))
    slack.wait_for(
        lambda s: any(
            c.method == "chat.update" and "Resolved" in json.dumps(c.params.get("blocks"))
            for c in s.calls
        )
    )
    customer.close()
    assert len(cards(slack)) == 1
    mirrored = [t for t in texts(slack.posts(AGENTS, thread)) if "that is kind" in t]
    assert len(mirrored) == 1
    # The agent's own line is not posted again under the thread.
    assert not any("sending a new one" in t for t in texts(slack.posts(AGENTS, thread)))


def cards(slack: SlackStandIn) -> list[Call]:
    return [c for c in slack.posts(AGENTS) if "thread_ts" not in c.params]


def test_when_the_process_posting_to_slack_dies_the_other_posts_what_was_pending(
    cluster: Cluster,
) -> None:
    """A holds the lease; Slack fails A's post of an answer (A would try again in seconds);
    A is killed before that. B takes over and posts the answer, once."""
    slack = cluster.slack
    slack.fail("chat.postMessage", "internal_error", times=1)
    send(cluster.b, message_event("UCUST3", "what is your return policy?", "DCUST3"))
    slack.wait_for(
        lambda s: any(
            c.method == "chat.postMessage" and c.response.get("error") == "internal_error"
            for c in s.calls
        ),
        timeout=30,
    )
    cluster.process_a.kill()
    cluster.process_a.wait()
    answered(slack, "DCUST3", "30 days")
    only_then_klarna(cluster, "UCUST3", "DCUST3")


def test_socket_mode_is_held_by_one_process_and_handed_over_when_it_stops(
    built_settings: Settings, models: Models
) -> None:
    """Slack sends each Socket Mode envelope to one of the app's connections: one process
    holds the connection (not one per process), and another opens it when that one stops."""
    with SlackStandIn() as slack, shared_store(built_settings) as shared:
        settings = shared.model_copy(
            update={
                "slack_bot_token": SecretStr(slack.bot_token),
                "slack_signing_secret": SecretStr(SECRET),
                "slack_app_token": SecretStr(slack.app_token),
                "slack_socket_mode": True,
                "slack_api_url": slack.base_url,
                "slack_lease_seconds": LEASE_SECONDS,
            }
        )
        with worker_running(settings, models), contextlib.ExitStack() as holder:
            holder.enter_context(run_server(create_app(settings, models=models)))
            slack.wait_connected()
            with run_server(create_app(settings, models=models)):
                event = message_event("UCUST9", "what is your return policy?", "DCUST9")
                slack.wait_ack(slack.socket_send("events_api", event_callback(event)))
                answered(slack, "DCUST9", "30 days")
                assert slack.socket_connects == 1
                assert len(replies(slack, "DCUST9")) == 1
                holder.close()  # it stops (as on SIGTERM): the other one connects, answers
                slack.wait_for(lambda s: s.socket_connects == 2)
                event = message_event("UCUST9", "can I pay with Klarna?", "DCUST9")
                slack.wait_ack(slack.socket_send("events_api", event_callback(event)))
                answered(slack, "DCUST9", "Klarna")
        posts = texts(replies(slack, "DCUST9"))
        assert len(posts) == 2, posts
