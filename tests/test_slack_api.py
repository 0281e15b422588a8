"""The Slack stand-in behaves like Slack for the real slack_sdk clients."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.socket_mode.websockets import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.slack_api import (
    SlackStandIn,
    block_actions,
    event_callback,
    interactive_body,
    mention_event,
    message_event,
    sign,
)

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Order* shipped"}}]


def web(slack: SlackStandIn, token: str = "xoxb-test", **kwargs: object) -> AsyncWebClient:
    return AsyncWebClient(base_url=slack.base_url, token=token, **kwargs)  # type: ignore[arg-type]


async def test_auth_test_and_json_post_with_blocks(slack: SlackStandIn) -> None:
    client = web(slack)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0SHOP")
    first = await client.chat_postMessage(channel="C1", text="Shipped", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="C1", text="Also", thread_ts=first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["user"] == "UBOT"
    assert second["message"]["thread_ts"] == first["ts"]
    assert float(second["ts"]) > float(first["ts"])
    post = slack.posts("C1")[0]
    assert post.params["blocks"] == BLOCKS
    assert post.token == "xoxb-test"
    assert [c.method for c in slack.calls] == ["auth.test", "chat.postMessage", "chat.postMessage"]
    assert len(slack.wait_posts(1, "C1", thread_ts=post.response["ts"])) == 1


async def test_form_post_records_parsed_blocks(slack: SlackStandIn) -> None:
    data = {"channel": "C2", "text": "Form", "blocks": json.dumps(BLOCKS)}
    response = await web(slack).api_call("chat.postMessage", data=data)
    assert response["message"]["blocks"] == BLOCKS
    assert slack.posts("C2")[0].params["blocks"] == BLOCKS


async def test_other_methods_answer_like_slack(slack: SlackStandIn) -> None:
    slack.presence["U2"] = "away"
    slack.fail("reactions.add", "already_reacted")

    client = web(slack)
    user = (await client.users_info(user="U1"))["user"]
    assert user["profile"]["email"] == "u1@example.com"
    assert user["is_bot"] is False
    assert (await client.users_getPresence(user="U2"))["presence"] == "away"
    channel = (await client.conversations_info(channel="D9"))["channel"]
    assert channel == {"id": "D9", "name": "c-d9", "is_im": True, "is_channel": False}
    posted = await client.chat_postMessage(channel="C1", text="v1")
    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert (updated["ts"], updated["text"]) == (posted["ts"], "v2")
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert ephemeral["message_ts"]
    for call, error in [
        (client.chat_update(channel="C2", ts=posted["ts"], text="x"), "message_not_found"),
        (client.api_call("chat.postMessage", json={"channel": "C1"}), "no_text"),
        (
            client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes"),
            "already_reacted",
        ),
        (client.api_call("pins.add"), "unknown_method"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            await call
        assert refused.value.response["error"] == error
    assert (await client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes"))["ok"]
    assert len(slack.posts()) == 1


async def test_rate_limited_post_is_retried(slack: SlackStandIn) -> None:
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    client = web(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    response = await client.chat_postMessage(channel="C1", text="hi")
    assert response["ok"]
    limited, accepted = slack.calls
    assert (limited.status, limited.response) == (429, {"ok": False, "error": "ratelimited"})
    assert accepted.status == 200
    assert accepted.at - limited.at >= 1.0
    assert len(slack.posts("C1")) == 1


async def test_wrong_tokens_are_refused(slack: SlackStandIn) -> None:
    async def error_of(token: str, method: str) -> str:
        with pytest.raises(SlackApiError) as refused:
            await web(slack, token).api_call(method)
        return str(refused.value.response["error"])

    assert await error_of("xoxb-wrong", "auth.test") == "invalid_auth"
    assert await error_of("xoxb-test", "apps.connections.open") == "not_allowed_token_type"
    assert [c.status for c in slack.calls] == [200, 200]
    with pytest.raises(AssertionError, match=r"auth.test 200 \{\} -> invalid_auth"):
        slack.wait_posts(1, timeout=0.05)


async def test_socket_mode_delivers_envelopes_and_records_acks(slack: SlackStandIn) -> None:
    event = message_event("U1", "where is my order?", "D1")
    received: list[SocketModeRequest] = []

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    client = SocketModeClient(app_token="xapp-test", web_client=web(slack))
    client.socket_mode_request_listeners.append(listener)
    await client.connect()
    try:
        await asyncio.to_thread(slack.wait_connected)
        envelope_id = slack.socket_send("events_api", event_callback(event))
        await asyncio.to_thread(slack.wait_ack, envelope_id)
        slack.socket_disconnect()  # Slack asks for a reconnect now and then
        await asyncio.to_thread(slack.wait_for, lambda s: s.socket_connects == 2)
        envelope_id = slack.socket_send("slash_commands", {"command": "/order"})
        await asyncio.to_thread(slack.wait_ack, envelope_id)
    finally:
        await client.close()
    assert [r.type for r in received] == ["events_api", "slash_commands"]
    assert received[0].payload["event"] == event
    assert received[0].accepts_response_payload is False
    assert received[1].accepts_response_payload is True
    assert set(slack.acks) == {r.envelope_id for r in received}
    assert [c.token for c in slack.calls] == ["xapp-test", "xapp-test"]


def test_signed_requests_verify() -> None:
    verifier = SignatureVerifier("secret")
    event_body = json.dumps(event_callback(mention_event("U1", "hi", "C1")))
    headers = sign(event_body, "secret")
    assert headers["Content-Type"] == "application/json"
    assert verifier.is_valid_request(event_body, headers)
    assert not SignatureVerifier("other").is_valid_request(event_body, headers)
    assert json.loads(event_body)["event"]["text"] == "<@UBOT> hi"

    click = block_actions("U1", "refund", "yes", "C1", "1700000000.000100", thread_ts="1.2")
    body = interactive_body(click)
    headers = sign(body, "secret")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid_request(body, headers)
    assert json.loads(parse_qs(body)["payload"][0]) == click
