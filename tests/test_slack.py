"""Slack through the real app: really signed requests to /slack/events, and a stand-in for
Slack's Web API on loopback (tests/support/slack_api.py) that records what the bot posts."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from channels.slack.app import retry_after
from channels.slack.blocks import (
    CLAIM,
    FEEDBACK,
    QUICK_REPLY,
    RESOLVE,
    SEND_DRAFT,
    mirrored,
    plain_text,
)
from engine.models import Feedback, Message
from handoff.agents import AgentAccounts
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import (
    AgentClient,
    add_agent,
    is_msg,
    say,
    widget,
)
from tests.support.frames import until
from tests.support.slack import (
    SECRET,
    SENTINEL,
    buttons,
    conversation_keys,
    post_event,
    posts_before_sentinel,
    press,
    secret,
    slack_messages,
    slack_settings,
    texts,
    top_level,
)
from tests.support.slack_api import (
    SlackStandIn,
    block_actions,
    event_callback,
    mention_event,
    message_event,
    sign,
)

AGENTS = "CAGENTS01"


@pytest.fixture
def settings(built_settings: Settings, tmp_path: Path, slack: SlackStandIn) -> Settings:
    return slack_settings(built_settings, tmp_path, slack)


# -- the bot in Slack ----------------------------------------------------------------------------


def test_a_direct_message_is_answered_in_the_dm_with_blocks(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        answer = post_event(client, message_event("UCUST1", "How long does delivery take?",
                                                  "DCUST1"))  # fmt: skip
        assert answer.status_code == 200
        [reply] = slack.wait_posts(1, channel="DCUST1")
    assert "thread_ts" not in reply.params  # a DM is answered in the DM itself
    assert "deliver" in reply.params["text"].lower()
    assert set(buttons(reply)) >= {f"{FEEDBACK}_up", f"{FEEDBACK}_down"}
    assert conversation_keys(settings) == {"T0SHOP:DCUST1"}


def test_a_mention_is_answered_in_its_thread_and_the_thread_goes_on(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        mention = mention_event("UCUST2", "do you have running shoes?", "CSHOP01")
        post_event(client, mention)
        [first] = slack.wait_posts(1, channel="CSHOP01")
        assert first.params["thread_ts"] == mention["ts"]
        # Chatter in the channel is not for the bot; the thread it answered in is.
        post_event(client, message_event("UCUST3", "lunch anyone?", "CSHOP01"))
        post_event(client, message_event("UCUST2", "how long does delivery take?", "CSHOP01",
                                         thread_ts=mention["ts"]))  # fmt: skip
        [_, second] = slack.wait_posts(2, channel="CSHOP01")
        # Nothing for the chatter: a later message in the thread is answered right after.
        posts = posts_before_sentinel(client, slack, "UCUST2", "CSHOP01", mention["ts"])
        assert len(posts) == 3
    assert second.params["thread_ts"] == mention["ts"]
    assert "deliver" in second.params["text"].lower()
    assert conversation_keys(settings) == {f"T0SHOP:CSHOP01:{mention['ts']}"}


def test_retries_and_twin_events_get_one_reply(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        event = message_event("UCUST4", "where is my order?", "DCUST4")
        first = post_event(client, event, event_id="Ev0001")
        again = post_event(client, event, retry=1, event_id="Ev0001")
        assert (first.status_code, again.status_code) == (200, 200)
        mention = mention_event("UCUST5", "hello there", "CSHOP02")
        # One message that mentions the bot in a thread it is in comes as two events.
        post_event(client, mention)
        slack.wait_posts(1, channel="CSHOP02")
        twin_ts = f"{time.time():.6f}"
        text = "<@UBOT> do you ship to Belgium?"
        post_event(client, mention_event("UCUST5", text, "CSHOP02", ts=twin_ts,
                                         thread_ts=mention["ts"]))  # fmt: skip
        post_event(client, message_event("UCUST5", text, "CSHOP02", ts=twin_ts,
                                         thread_ts=mention["ts"]))  # fmt: skip
        slack.wait_posts(1, channel="DCUST4")
        slack.wait_posts(2, channel="CSHOP02")
        # Once a later message is answered, the retry and the twin have posted nothing.
        assert len(posts_before_sentinel(client, slack, "UCUST4", "DCUST4")) == 2
        assert len(posts_before_sentinel(client, slack, "UCUST5", "CSHOP02", mention["ts"])) == 3


def test_unsigned_wrongly_signed_and_stale_requests_are_refused(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    body = json.dumps(event_callback(message_event("UCUST6", "hi", "DCUST6")))
    with TestClient(create_app(settings, models=models)) as client:
        unsigned = client.post("/slack/events", content=body,
                               headers={"content-type": "application/json"})  # fmt: skip
        wrong = client.post("/slack/events", content=body, headers=sign(body, "not-the-secret"))
        old = sign(body, SECRET, timestamp=int(time.time()) - 600)
        stale = client.post("/slack/events", content=body, headers=old)
        # A signed message after them is the first and only one answered.
        answered = posts_before_sentinel(client, slack, "UCUST6", "DCUST6")
    assert [r.status_code for r in (unsigned, wrong, stale)] == [401, 401, 401]
    assert slack.posts() == answered
    assert len(answered) == 1


def test_the_bot_ignores_its_own_and_other_bots_messages(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        post_event(client, message_event("UBOT", "I am the bot", "DCUST7"))
        post_event(client, message_event("UOTHER", "beep", "DCUST7", bot_id="BOTHER"))
        post_event(client, message_event("UOTHER", "beep", "DCUST7", subtype="bot_message"))
        post_event(client, message_event("UCUST7", "do you sell gift cards?", "DCUST7"))
        [_reply] = slack.wait_posts(1, channel="DCUST7")
        assert len(posts_before_sentinel(client, slack, "UCUST7", "DCUST7")) == 2
    assert slack_messages(settings, "customer") == ["do you sell gift cards?", SENTINEL]


@pytest.mark.slow
def test_a_rate_limited_reply_waits_and_is_posted_once(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    with TestClient(create_app(settings, models=models)) as client:
        post_event(client, message_event("UCUST8", "how long does delivery take?", "DCUST8"))
        [reply] = slack.wait_posts(1, channel="DCUST8", timeout=15)
        assert len(posts_before_sentinel(client, slack, "UCUST8", "DCUST8")) == 2
    tries = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert [c.status for c in tries] == [429, 429, 200, 200]  # the last: the sentinel's answer
    assert tries[1].at - tries[0].at >= 1.0
    assert tries[2].at - tries[1].at >= 1.0
    assert "deliver" in reply.params["text"].lower()


def test_socket_mode_takes_events_and_clicks_over_the_websocket(
    built_settings: Settings, tmp_path: Path, slack: SlackStandIn, models: Models
) -> None:
    settings = slack_settings(built_settings, tmp_path, slack, slack_socket_mode=True,
                              slack_app_token=secret(slack.app_token))  # fmt: skip
    with TestClient(create_app(settings, models=models)):
        slack.wait_connected()
        event = message_event("UCUST11", "do you have running shoes?", "DCUST11")
        envelope = slack.socket_send("events_api", event_callback(event))
        slack.wait_ack(envelope)
        [reply] = slack.wait_posts(1, channel="DCUST11")
        up = buttons(reply)[f"{FEEDBACK}_up"]
        payload = block_actions("UCUST11", f"{FEEDBACK}_up", up["value"], "DCUST11",
                                reply.response["ts"])  # fmt: skip
        payload["message"] |= {"text": reply.params["text"], "blocks": reply.params["blocks"]}
        slack.wait_ack(slack.socket_send("interactive", payload))
        slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls))
    assert "EUR" in json.dumps(reply.params["blocks"])


def test_retry_after_is_read_whole() -> None:
    assert retry_after({"Retry-After": "30"}) == 30.0
    assert retry_after({"retry-after": ["12"]}) == 12.0
    assert retry_after({}) == 1.0


def test_product_cards_quick_replies_and_feedback(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    with TestClient(create_app(settings, models=models)) as client:
        post_event(client, message_event("UCUST9", "do you have running shoes?", "DCUST9"))
        [reply] = slack.wait_posts(1, channel="DCUST9")
        cards = [b for b in reply.params["blocks"] if b.get("fields")]
        assert cards, "products come as cards"
        assert all("*Price*\nEUR " in b["fields"][0]["text"] for b in cards)
        assert all("Stock" in b["fields"][1]["text"] for b in cards)
        up = buttons(reply)[f"{FEEDBACK}_up"]
        assert press(client, "UCUST9", reply, f"{FEEDBACK}_up", up["value"]).status_code == 200
        slack.wait_for(lambda s: any(c.method == "chat.update" for c in s.calls))
        [update] = [c for c in slack.calls if c.method == "chat.update"]
        assert "Thanks for your feedback" in json.dumps(update.params["blocks"])
        assert f"{FEEDBACK}_up" not in buttons(update)  # the buttons are used up
        quick = buttons(reply).get(f"{QUICK_REPLY}_0")
        assert quick is not None, "several products are offered as quick replies"
        press(client, "UCUST9", reply, f"{QUICK_REPLY}_0", quick["value"])
        slack.wait_posts(2, channel="DCUST9")
    db = open_database(settings.sqlalchemy_url)
    with Session(db) as session:
        rated = session.exec(select(Feedback.rating, Message.text).join(Message)).all()
    db.dispose()
    assert [(rating, text) for rating, text in rated if text == reply.params["text"]] == [
        ("up", reply.params["text"])
    ]
    assert slack_messages(settings, "customer") == ["do you have running shoes?", quick["value"]]


def test_refused_blocks_fall_back_to_text(
    settings: Settings, slack: SlackStandIn, models: Models
) -> None:
    slack.fail("chat.postMessage", "invalid_blocks")
    with TestClient(create_app(settings, models=models)) as client:
        post_event(client, message_event("UCUST12", "do you have running shoes?", "DCUST12"))
        [reply] = slack.wait_posts(1, channel="DCUST12")
    assert "blocks" not in reply.params
    assert "EUR" in reply.params["text"]


def test_what_people_wrote_is_never_markup_in_slack() -> None:
    text = "<!channel> <script>alert(1)</script> & <https://evil.example|bank>"
    message = Message(conversation_id=1, seq=3, role="customer", text=text)
    text, blocks = mirrored(message, "Jo <admin>")
    shown = json.dumps(blocks)
    for raw in ("<!channel>", "<script>", "<https://", "<admin>"):
        assert raw not in shown
    assert "&lt;!channel&gt; &lt;script&gt;" in shown
    assert "&amp;" in shown
    assert text.startswith("Jo <admin>:")  # the notification text is plain, not markup


def test_slack_markup_is_read_as_text() -> None:
    text = "<@UBOT> my email is <mailto:jo@example.com|jo@example.com> &amp; <https://x.y|site>"
    assert plain_text(text, "UBOT") == "my email is jo@example.com & site"


# -- Slack as the agents' workspace --------------------------------------------------------------


def link(settings: Settings, username: str, slack_user: str) -> None:
    db = open_database(settings.sqlalchemy_url)
    AgentAccounts(db).link_slack(username, slack_user)
    db.dispose()


def test_a_widget_handoff_worked_to_the_end_from_a_slack_thread(
    built_settings: Settings, tmp_path: Path, slack: SlackStandIn, models: Models
) -> None:
    settings = slack_settings(built_settings, tmp_path, slack, slack_agents_channel=AGENTS)
    anna, ben = add_agent(settings, "Anna"), add_agent(settings, "Ben")
    link(settings, anna, "UANNA")
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as customer,
    ):
        widget(customer)
        say(customer, "I want to talk to a person please")
        [card] = top_level(slack, AGENTS)
        card_ts = card.response["ts"]
        assert "needs a person" in card.params["text"]
        assert set(buttons(card)) >= {CLAIM, RESOLVE}
        cid = buttons(card)[CLAIM]["value"]

        # Ben, in the console, cannot take it once Anna has it in Slack.
        press(client, "UANNA", card, CLAIM, cid)
        until(customer, is_msg("system", "Anna joined the chat."))
        taken = AgentClient(client, ben).post(f"/agent/api/conversations/{cid}/claim")
        assert taken.status_code == 409

        say(customer, "how long does delivery take?")
        slack.wait_for(lambda s: any("how long does delivery take" in t
                                     for t in texts(s.posts(AGENTS, card_ts))))  # fmt: skip
        mirror = next(c for c in slack.posts(AGENTS, card_ts) if "how long" in c.params["text"])
        assert "Bot's draft" in json.dumps(mirror.params["blocks"])
        press(client, "UANNA", mirror, SEND_DRAFT, buttons(mirror)[SEND_DRAFT]["value"])
        sent = until(customer, lambda f: f["type"] == "message" and f["role"] == "agent")
        assert "deliver" in sent["text"].lower()
        post_event(client, message_event("UANNA", "Sorry! I am sending a new one today.",
                                         AGENTS, thread_ts=card_ts))  # fmt: skip
        until(customer, is_msg("agent", "sending a new one today"))

        press(client, "UANNA", card, RESOLVE, cid)
        until(customer, is_msg("system", "marked this conversation as solved"))
        slack.wait_for(lambda s: any(c.method == "chat.update" and "Resolved" in json.dumps(
            c.params.get("blocks")) for c in s.calls))  # fmt: skip
        # The agent's own line is not posted again under the thread.
        assert not any("sending a new one" in t for t in texts(slack.posts(AGENTS, card_ts)))


def test_claimed_in_the_console_cannot_be_claimed_in_slack(
    built_settings: Settings, tmp_path: Path, slack: SlackStandIn, models: Models
) -> None:
    settings = slack_settings(built_settings, tmp_path, slack, slack_agents_channel=AGENTS)
    anna, ben = add_agent(settings, "Anna"), add_agent(settings, "Ben")
    link(settings, ben, "UBEN")
    with (
        TestClient(create_app(settings, models=models)) as client,
        client.websocket_connect("/ws") as customer,
    ):
        agent = AgentClient(client, anna)
        with agent.console() as console:
            widget(customer)
            say(customer, "can I talk to a human")
            cid = until(console, lambda f: f["type"] == "announce")["conversation_id"]
            [card] = top_level(slack, AGENTS)
            assert agent.post(f"/agent/api/conversations/{cid}/claim").status_code == 200
            press(client, "UBEN", card, CLAIM, str(cid))
            slack.wait_for(lambda s: any(c.method == "chat.postEphemeral" for c in s.calls))
            told = next(c for c in slack.calls if c.method == "chat.postEphemeral")
            assert told.params["user"] == "UBEN"
            assert "Anna already has this conversation" in told.params["text"]
            # Ben writing in the thread does not reach the customer: it is kept as a note.
            post_event(client, message_event("UBEN", "I know this customer", AGENTS,
                                             thread_ts=card.response["ts"]))  # fmt: skip
            slack.wait_for(lambda s: len([c for c in s.calls
                                          if c.method == "chat.postEphemeral"]) == 2)  # fmt: skip
            view = agent.get(f"/agent/api/conversations/{cid}").json()
            assert [n["text"] for n in view["notes"]] == ["I know this customer"]
            assert not [m for m in view["messages"] if m["role"] == "agent"]


def test_a_slack_customer_is_answered_by_an_agent_from_the_console(
    built_settings: Settings, tmp_path: Path, slack: SlackStandIn, models: Models
) -> None:
    settings = slack_settings(built_settings, tmp_path, slack)
    anna = add_agent(settings, "Anna")
    with TestClient(create_app(settings, models=models)) as client:
        agent = AgentClient(client, anna)
        with agent.console() as console:
            until(console, lambda f: f["type"] == "board")
            post_event(client, message_event("UCUST10", "let me speak to a person", "DCUST10"))
            cid = until(console, lambda f: f["type"] == "announce")["conversation_id"]
            slack.wait_for(lambda s: any("number 1 in the queue" in t
                                         for t in texts(s.posts("DCUST10"))))  # fmt: skip
            assert agent.post(f"/agent/api/conversations/{cid}/claim").status_code == 200
            reply = {"text": "Hi, Anna here. How can I help?", "client_id": uuid.uuid4().hex}
            assert agent.post(f"/agent/api/conversations/{cid}/reply", reply).status_code == 200
            slack.wait_for(lambda s: any("Anna here" in t for t in texts(s.posts("DCUST10"))))
    posted = slack.posts("DCUST10")
    said = texts(posted)
    assert said.index("Anna joined the chat.") < next(
        n for n, t in enumerate(said) if "Anna here" in t
    )
    assert [c.params.get("username") for c in posted if "Anna here" in c.params["text"]] == ["Anna"]


# -- set-up ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SHOPCLERK_SLACK_AGENTS_CHANNEL": "C0123ABCD"}, "SLACK_BOT_TOKEN and SLACK_SIGNING"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SHOPCLERK_SLACK_SOCKET_MODE": "true",
            },
            "SLACK_APP_TOKEN",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SHOPCLERK_SLACK_AGENTS_CHANNEL": "#support",
            },
            "channel ID",
        ),
    ],
)
def test_missing_slack_settings_are_named(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_the_manifest_asks_for_what_the_app_uses() -> None:
    manifest = json.loads((Path(__file__).parents[1] / "docs/slack/manifest.json").read_text())
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention", "message.im", "message.channels", "message.groups"}  # fmt: skip
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes >= {"app_mentions:read", "im:history", "channels:history", "groups:history",
                      "chat:write", "chat:write.customize", "users:read",
                      "users:read.email", "im:write"}  # fmt: skip
    assert settings["interactivity"]["is_enabled"]
    for url in (settings["event_subscriptions"]["request_url"],
                settings["interactivity"]["request_url"]):  # fmt: skip
        assert url.startswith("https://")
        assert url.endswith("/slack/events")


def test_slack_is_off_without_its_tokens_and_on_with_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Settings().slack_enabled
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert Settings().slack_enabled
