"""A Slack customer's message when the engine is overloaded: Slack sends an event once and its
customer has no client that resends, so the message waits for room instead of being refused,
and only past a long wait is the customer asked to send it again."""

from __future__ import annotations

import time
from typing import Any

import pytest

from channels.slack import channel as slack_channel
from channels.slack.channel import SlackChannel
from engine.types import Inbound
from engine.worker import OverloadedError


class _BusyDesk:
    """The desk's `handle`, refusing the first `refusals` messages as an overloaded engine."""

    def __init__(self, refusals: int) -> None:
        self.refusals, self.taken = refusals, list[Inbound]()

    async def handle(self, inbound: Inbound) -> Any:
        if self.refusals:
            self.refusals -= 1
            raise OverloadedError(retry_after=1)
        self.taken.append(inbound)


def _channel(desk: _BusyDesk) -> SlackChannel:
    return SlackChannel(desk, None, None, None, None, "", None, None)  # type: ignore[arg-type]


MESSAGE = Inbound("T1:DCUST1", "where is my order?", "slack", client_message_id="1700000000.1")


async def test_a_refused_slack_message_waits_its_turn_and_is_taken() -> None:
    desk = _BusyDesk(refusals=1)
    started = time.monotonic()
    assert await _channel(desk)._handed(MESSAGE)
    assert desk.taken == [MESSAGE]
    assert time.monotonic() - started >= 1  # the wait the engine asked for


async def test_past_the_longest_wait_the_customer_is_asked_to_send_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slack_channel, "BUSY_WAIT_SECONDS", 0.5)
    desk = _BusyDesk(refusals=1)
    assert not await _channel(desk)._handed(MESSAGE)
    assert desk.taken == []
    assert "send it again" in slack_channel.BUSY
